#!/bin/sh
# Model-checks models/dsm/dsm.pml with SPIN: an exhaustive safety search of
# the protocol (3 nodes, 2 pages), then bug variants that must fail.
# usage: models/dsm/run.sh [full|quick]
# (pan is compiled with -O1: gcc -O2 took 3x longer on pan.c than the search it speeds up)
#   full  (default) TOTALOPS=4 MAXW=1: 4.2 M states, ~1 min, ~2 GB; then
#                   TOTALOPS=3 MAXW=2 MAXEVICT=2: 1.6 M states, ~30 s
#   quick           TOTALOPS=3 MAXW=1: 0.33 M states, a few seconds
# Both modes then check the split model (-DSPLIT: one page, two blocks,
# split and merge): TOTALOPS=2 (0.25 M states, ~10 s; full: TOTALOPS=3,
# 3.4 M states, ~1 min), that those bounds reach a run with a split, a write
# to each block from two nodes and a merge (-DCOVER must fail), and that a
# split that forgets the copyset is caught.
# Exits non-zero if the protocol model has any error or a bug goes unnoticed.
set -eu
mode=${1:-full}
case "$mode" in
  full) bounds="-DTOTALOPS=4 -DMAXW=1" ;;
  quick) bounds="-DTOTALOPS=3 -DMAXW=1" ;;
  *) echo "usage: $0 [full|quick]" >&2; exit 2 ;;
esac
command -v spin >/dev/null || { echo "spin is not installed (apt-get install spin)" >&2; exit 3; }
command -v gcc >/dev/null || { echo "gcc is not installed" >&2; exit 3; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# check NAME EXPECT DEFINES...: EXPECT is "pass" (errors: 0) or "fail" (errors > 0)
check() {
  name=$1; expect=$2; shift 2
  dir="$work/$name"; mkdir -p "$dir"; cd "$dir"
  spin -a "$@" "$here/dsm.pml" >spin.log 2>&1 || { cat spin.log; echo "$name: spin -a failed"; exit 1; }
  gcc -O1 -w -DSAFETY -DCOLLAPSE -DVECTORSZ=4096 -o pan pan.c || { echo "$name: gcc failed"; exit 1; }
  start=$(date +%s)
  ./pan -m200000 -w24 >pan.log 2>&1 || true
  secs=$(( $(date +%s) - start ))
  errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.log | head -n1)
  states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.log | head -n1)
  [ -n "$errors" ] || { cat pan.log; echo "$name: pan produced no result"; exit 1; }
  if grep -q 'Search not completed' pan.log && [ "$expect" = pass ]; then
    cat pan.log; echo "$name: search incomplete"; exit 1
  fi
  echo "$name ($*): states=$states time=${secs}s errors: $errors"
  if [ "$expect" = pass ] && [ "$errors" != 0 ]; then
    grep -E 'assertion violated|invalid end state|pan:' pan.log | head -n5
    spin -t -p "$here/dsm.pml" 2>/dev/null | tail -n 40 || true
    echo "FAIL: $name has errors"; exit 1
  fi
  if [ "$expect" = fail ]; then
    if [ "$errors" = 0 ]; then echo "FAIL: bug variant $name was not detected"; exit 1; fi
    why=$(grep -E 'assertion violated|invalid end state' pan.log | head -n1)
    echo "  failure found as expected: $why"
  fi
}

check protocol pass $bounds
if [ "$mode" = full ]; then
  check protocol-more-writes pass -DTOTALOPS=3 -DMAXW=2 -DMAXEVICT=2
fi
check bug-skip-inv fail -DTOTALOPS=3 -DMAXW=1 -DBUG_SKIP_INV
check bug-trust-upgrade fail -DTOTALOPS=3 -DMAXW=1 -DBUG_TRUST_UPGRADE
check split pass -DSPLIT -DTOTALOPS=2 -DMAXW=1
if [ "$mode" = full ]; then
  check split-more-ops pass -DSPLIT -DTOTALOPS=3 -DMAXW=1
fi
check split-cover fail -DSPLIT -DTOTALOPS=2 -DMAXW=1 -DCOVER
check bug-split-copyset fail -DSPLIT -DTOTALOPS=2 -DMAXW=1 -DBUG_SPLIT_COPYSET
echo "dsm model: all checks passed (mode $mode)"
