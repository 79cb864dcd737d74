/*
 * SPIN model of HydraVM's DSM protocol (src/dsm/engine.ts): Ivy-style MSI with
 * the fixed distributed manager. 3 nodes, 2 pages; page p is homed on node p,
 * and its manager (owner record + request queue) lives there.
 *
 * Modelled as in the engine:
 *   - read fault:  READ_REQ -> manager -> FWD_READ -> owner -> READ_DATA ->
 *                  requester installs SHARED -> CONFIRM -> manager
 *   - write fault: WRITE_REQ -> manager -> FWD_WRITE -> owner -> WRITE_DATA
 *                  (copyset, data unless the upgrade kept its copy) -> writer
 *                  sends INV to every copy holder in parallel, collects
 *                  INV_ACKs, becomes MODIFIED owner -> CONFIRM -> manager
 *   - upgrades from SHARED (owner or not) go through the manager too
 *   - the manager runs one transaction per page at a time (queue per page)
 *   - silent drop of a SHARED copy (capacity); INV to a non-holder is acked
 *   - hand-back of an owned page to its home (EVICT_REQ / FWD_EVICT /
 *     EVICT_DATA / EVICT_NACK), including the home getting its own queued
 *     request forwarded to itself
 *   - the network reorders freely: one channel per (destination, page,
 *     message type), so a node takes messages in any order across pages and
 *     types. Such a channel holds one message: the manager's serialization
 *     never leaves two in flight. Requests reach the home in any order across
 *     senders (random receive by sender); INV_ACKs are taken in any order.
 *   - each message handler is atomic, as each engine handler runs to
 *     completion on one JS thread
 * Not modelled: pins (they only delay handlers), frames/zero pages (the
 * version number stands for the page contents), peer loss.
 *
 * Checked: no invalid end state (no deadlock); when nothing can move, every
 * fault has completed and every manager is idle; single writer XOR readers
 * (monitor process); every read returns the latest written version.
 * Bug variants that SPIN must catch (they show the model can fail):
 *   -DBUG_SKIP_INV       the writer skips the invalidations
 *   -DBUG_TRUST_UPGRADE  the owner sends no data to an upgrade even when the
 *                        requester's copy was invalidated meanwhile
 * Bounds (override with -D): MAXOPS faults per node, TOTALOPS faults in all,
 * MAXW writes per page, MAXDROP silent drops, MAXEVICT hand-backs.
 *
 * -DSPLIT: adaptive granularity (src/dsm/granularity.ts). One page, homed on
 * node 0, with two blocks; units 0 and 1 are the blocks, unit 2 the whole
 * page, each with the same MSI roles as above. The page unit's version packs
 * both blocks' versions (v0 + 4 * v1). A node faults on the unit its own
 * granularity says. The manager may split the page whenever the page unit is
 * idle, and merge it whenever both blocks are idle (a superset of the
 * engine's detection and hysteresis), as manager-serialized transactions:
 *   SPLIT -> every node (blocks := page state, owner flag, copyset, version)
 *   -> SPLIT_ACK; after all acks the blocks' owner is the page's owner.
 *   MERGE -> every node (blocks := I, hand the owned blocks' data home)
 *   -> MERGE_DATA; after all answers the home owns the page, MODIFIED, with
 *   each block's version from that block's owner.
 * While one is in flight no request for the page or its blocks starts; a
 * request for the unit the page no longer has gets RETRY, and the hart faults
 * again on the unit its node now has. Checked as above, per block on the
 * node's effective state (block state when split, page state otherwise).
 * Not modelled with SPLIT: capacity (drops, hand-backs; the engine merges a
 * split page before one). Bug variant -DBUG_SPLIT_COPYSET: the split forgets
 * the copyset. -DCOVER asserts that no run splits, writes both blocks from
 * two nodes and merges: SPIN must find such a run (the bounds cover it).
 */

#ifdef SPLIT
#define N 3
#define P 3           /* units: block 0, block 1, the page */
#define PG 2
#define HOME(p) 0
#ifndef MAXSPLIT
#define MAXSPLIT 1
#endif
#ifndef MAXMERGE
#define MAXMERGE 1
#endif
#else
#define N 3
#define P 2
#define HOME(p) (p)
#endif
#define IX(n, p) ((n) * P + (p))

#ifndef MAXOPS
#define MAXOPS 2      /* faults each node may start */
#endif
#ifndef TOTALOPS
#define TOTALOPS 4    /* faults all nodes together may start */
#endif
#ifndef MAXW
#define MAXW 1        /* writes per page */
#endif
#ifndef MAXDROP
#define MAXDROP 1     /* silent SHARED drops in the whole run */
#endif
#ifndef MAXEVICT
#define MAXEVICT 1    /* hand-backs in the whole run */
#endif

#define I 0
#define S 1
#define M 2

#define NONE 0
#define RD 1
#define WR 2

/* requests (req channels and the manager's queue) */
#define READ_REQ 0
#define WRITE_REQ 1
#define EVICT_REQ 2
/* everything else (ch channels); INV_ACK has channels of its own */
#define FWD_READ 0
#define FWD_WRITE 1
#define FWD_EVICT 2
#define READ_DATA 3
#define WRITE_DATA 4
#define EVICT_DATA 5
#define EVICT_NACK 6
#define INV 7
#define CONFIRM 8
#define RETRY 9
#define T 10

/* Replies, forwards and invalidations: one channel per (destination, page,
 * type); the manager's serialization leaves at most one such message in
 * flight. Fields: node (requester / sender), version, copyset, flag. */
#define CH(d, p, t) (((d) * P + (p)) * T + (t))
chan ch[N * P * T] = [1] of { byte, byte, byte, bit };
#define SEND(d, p, t, n, v, cs, f) ch[CH(d, p, t)]!n, v, cs, f
/* Requests travel to the page's home on one channel per (page, type); the
 * home takes them in any order across senders (random receive by sender). */
chan req[N * 3] = [2 * N] of { byte, byte, bit };
#define SENDREQ(p, t, n, f) req[HOME(p) * 3 + (t)]!n, p, f
/* INV_ACKs to the writer: one channel per (writer, page), any order. */
chan ackch[N * P] = [N] of { byte };
/* the manager's per-page queue of requests: kind, requester, has-copy */
chan mq[P] = [N] of { byte, byte, bit };

byte state[N * P];
bool owner[N * P];
byte copyset[N * P];
byte ver[N * P];
byte pending[N * P];
byte acks[N * P];
bool evicting[N * P];

byte latest[P];
byte writes[P];
byte ops[N];
byte totalOps;
byte drops;
byte evicts;

byte mgrOwner[P];
bool mgrBusy[P];
byte mgrReq[P];
byte mgrKind[P];

#ifdef SPLIT
bool nodeSplit[N];     /* the node's granularity */
bool mgrSplit;         /* the manager's */
bool granBusy;         /* a split or merge is in flight */
byte granAnswers;
byte mergeVer;         /* packed block versions gathered by a merge */
byte splits, merges;
byte blockWrites[2];   /* writes made to each block while split */
bool blockWriter[N * 2];
/* SPLIT / MERGE to a node, SPLIT_ACK / MERGE_DATA to the home: type, node, owned blocks, packed versions */
chan gran[N] = [1] of { byte, byte, byte, byte };
chan granAck = [N] of { byte, byte, byte, byte };
#define G_SPLIT 0
#define G_MERGE 1
#define VER(v, b) (((v) >> (2 * (b))) & 3)
#endif

#define BIT(n) (1 << (n))
#define POP(x) (((x) & 1) + (((x) >> 1) & 1) + (((x) >> 2) & 1))
#define X IX(me, p)

inline finishWrite() {
  state[X] = M;
  pending[X] = NONE;
  SEND(HOME(p), p, CONFIRM, me, 0, 0, 0)
}

/* The writer (now owner) invalidates cs in parallel, or finishes at once. */
inline invalidate() {
#ifdef BUG_SKIP_INV
  cs = 0;
#endif
  acks[X] = POP(cs);
  if :: cs & BIT(0) -> SEND(0, p, INV, me, 0, 0, 0) :: else -> skip fi;
  if :: cs & BIT(1) -> SEND(1, p, INV, me, 0, 0, 0) :: else -> skip fi;
  if :: cs & BIT(2) -> SEND(2, p, INV, me, 0, 0, 0) :: else -> skip fi;
  if :: acks[X] == 0 -> finishWrite() :: else -> skip fi
}

/* Local scratch variables are cleared after every step so that they do not
 * split otherwise equal states. */
#define CLEAR p = 0; r = 0; v = 0; cs = 0; t = 0; f = 0

/* ---- manager role (home) ---- */
inline onRequest(kind) {
  assert(HOME(p) == me); mq[p]!kind, r, f
}

inline startNext() {
  mq[p]?t, r, f;
  if
#ifdef SPLIT
  :: (p == PG) == mgrSplit -> SEND(r, p, RETRY, me, 0, 0, 0)
  :: (p == PG) != mgrSplit && t == READ_REQ ->
     mgrBusy[p] = 1; mgrReq[p] = r; mgrKind[p] = t; SEND(mgrOwner[p], p, FWD_READ, r, 0, 0, 0)
  :: (p == PG) != mgrSplit && t == WRITE_REQ ->
     mgrBusy[p] = 1; mgrReq[p] = r; mgrKind[p] = t; SEND(mgrOwner[p], p, FWD_WRITE, r, 0, 0, f)
#else
  :: t == EVICT_REQ && mgrOwner[p] != r -> SEND(r, p, EVICT_NACK, me, 0, 0, 0)
  :: t == EVICT_REQ && mgrOwner[p] == r ->
     mgrBusy[p] = 1; mgrReq[p] = r; mgrKind[p] = t; SEND(r, p, FWD_EVICT, me, 0, 0, 0)
  :: t == READ_REQ ->
     mgrBusy[p] = 1; mgrReq[p] = r; mgrKind[p] = t; SEND(mgrOwner[p], p, FWD_READ, r, 0, 0, 0)
  :: t == WRITE_REQ ->
     mgrBusy[p] = 1; mgrReq[p] = r; mgrKind[p] = t; SEND(mgrOwner[p], p, FWD_WRITE, r, 0, 0, f)
#endif
  fi
}

inline onConfirm() {
  assert(HOME(p) == me && mgrBusy[p] && mgrReq[p] == r && mgrKind[p] != EVICT_REQ);
  if :: mgrKind[p] == WRITE_REQ -> mgrOwner[p] = r :: else -> skip fi;
  mgrBusy[p] = 0
}

inline onEvictData() {
  assert(HOME(p) == me && mgrBusy[p] && mgrReq[p] == r && mgrKind[p] == EVICT_REQ);
  owner[X] = 1; ver[X] = v;
  copyset[X] = cs & ~(BIT(me) | BIT(r));
  if :: f -> state[X] = M :: else -> state[X] = S fi;
  mgrOwner[p] = me; mgrBusy[p] = 0
}

/* ---- owner role ---- */
inline onFwdRead() {
  assert(owner[X]);
  if
  :: r == me -> /* the home got the page back while its read was queued */
     assert(pending[X] == RD); pending[X] = NONE; SEND(HOME(p), p, CONFIRM, me, 0, 0, 0)
  :: else ->
     if :: state[X] == M -> state[X] = S :: else -> skip fi;
     copyset[X] = copyset[X] | BIT(r);
     SEND(r, p, READ_DATA, me, ver[X], 0, 1)
  fi
}

inline onFwdWrite() {
  assert(owner[X]);
  if
  :: r == me -> /* owner upgrade, or the home got the page back */
     assert(pending[X] == WR);
     cs = copyset[X] & ~BIT(me); copyset[X] = 0;
     invalidate()
  :: else ->
     /* the upgrade keeps its copy only if it is still in the copyset */
#ifdef BUG_TRUST_UPGRADE
     f = !f;   /* bug: believe the requester still has its copy */
#else
     f = !(f && (copyset[X] & BIT(r)));
#endif
     SEND(r, p, WRITE_DATA, me, ver[X], copyset[X] & ~BIT(r), f);
     owner[X] = 0; state[X] = I; copyset[X] = 0
  fi
}

inline onFwdEvict() {
  assert(owner[X] && evicting[X]);
  SEND(HOME(p), p, EVICT_DATA, me, ver[X], copyset[X], (state[X] == M));
  owner[X] = 0; state[X] = I; copyset[X] = 0; evicting[X] = 0
}

/* ---- requester role ---- */
inline onReadData() {
  assert(pending[X] == RD);
  state[X] = S; ver[X] = v; pending[X] = NONE;
  SEND(HOME(p), p, CONFIRM, me, 0, 0, 0)
}

inline onWriteData() {
  assert(pending[X] == WR);
  if
  :: f -> ver[X] = v
  :: else -> assert(state[X] == S && ver[X] == v)
  fi;
  owner[X] = 1; copyset[X] = 0;
  cs = cs & ~BIT(me);
  invalidate()
}

inline onInv() {
  assert(!owner[X]);
  state[X] = I;
  ackch[IX(r, p)]!me
}

inline onInvAck() {
  assert(pending[X] == WR && acks[X] > 0);
  acks[X]--;
  if :: acks[X] == 0 -> finishWrite() :: else -> skip fi
}

inline onRetry() {
  assert(pending[X] != NONE);
  pending[X] = NONE
}

#ifdef SPLIT
/* ---- split and merge: manager (home) and every node ---- */
inline startSplit() {
  granBusy = 1; granAnswers = 0;
  for (t : 0 .. N - 1) { gran[t]!G_SPLIT, me, 0, 0 }
}

inline startMerge() {
  granBusy = 1; granAnswers = 0; mergeVer = 0;
  for (t : 0 .. N - 1) { gran[t]!G_MERGE, me, 0, 0 }
}

/* every block takes the page's state, owner flag, copyset and version */
inline onSplit() {
  for (t : 0 .. 1) {
    state[IX(me, t)] = state[IX(me, PG)];
    owner[IX(me, t)] = owner[IX(me, PG)];
#ifdef BUG_SPLIT_COPYSET
    copyset[IX(me, t)] = 0;
#else
    copyset[IX(me, t)] = copyset[IX(me, PG)];
#endif
    ver[IX(me, t)] = VER(ver[IX(me, PG)], t)
  }
  state[IX(me, PG)] = I; owner[IX(me, PG)] = 0; copyset[IX(me, PG)] = 0; ver[IX(me, PG)] = 0;
  nodeSplit[me] = 1;
  granAck!G_SPLIT, me, 0, 0
}

/* hand the owned blocks home and forget every block */
inline onMerge() {
  cs = 0; v = 0;
  for (t : 0 .. 1) {
    if :: owner[IX(me, t)] -> cs = cs | BIT(t); v = v | (ver[IX(me, t)] << (2 * t)) :: else -> skip fi;
    state[IX(me, t)] = I; owner[IX(me, t)] = 0; copyset[IX(me, t)] = 0; ver[IX(me, t)] = 0
  }
  nodeSplit[me] = 0;
  granAck!G_MERGE, me, cs, v
}

inline onGranAck() {
  assert(HOME(0) == me && granBusy);
  granAnswers++;
  if
  :: t == G_MERGE ->
     /* each block has exactly one owner, and it answers once */
     for (p : 0 .. 1) {
       if
       :: cs & BIT(p) -> assert(mgrOwner[p] == r); mergeVer = mergeVer | (v & (3 << (2 * p))); mgrOwner[p] = 255
       :: else -> skip
       fi
     }
  :: else -> skip
  fi;
  if
  :: granAnswers == N && !mgrSplit ->
     mgrOwner[0] = mgrOwner[PG]; mgrOwner[1] = mgrOwner[PG]; mgrSplit = 1; granBusy = 0; splits++
  :: granAnswers == N && mgrSplit ->
     assert(mgrOwner[0] == 255 && mgrOwner[1] == 255);
     state[IX(me, PG)] = M; owner[IX(me, PG)] = 1; copyset[IX(me, PG)] = 0; ver[IX(me, PG)] = mergeVer;
     mgrOwner[PG] = me; mgrOwner[0] = 0; mgrOwner[1] = 0; mgrSplit = 0; granBusy = 0; merges++
  :: else -> skip
  fi
}
#endif

#ifdef SPLIT
#define RECV(TYPE, HANDLER) \
  :: atomic { ch[CH(me, 0, TYPE)]?r, v, cs, f -> p = 0; HANDLER; CLEAR } \
  :: atomic { ch[CH(me, 1, TYPE)]?r, v, cs, f -> p = 1; HANDLER; CLEAR } \
  :: atomic { ch[CH(me, 2, TYPE)]?r, v, cs, f -> p = 2; HANDLER; CLEAR }
#else
#define RECV(TYPE, HANDLER) \
  :: atomic { ch[CH(me, 0, TYPE)]?r, v, cs, f -> p = 0; HANDLER; CLEAR } \
  :: atomic { ch[CH(me, 1, TYPE)]?r, v, cs, f -> p = 1; HANDLER; CLEAR }
#endif

/* The home takes sender k's request of any type for its page. */
#define REQUESTS(k) \
  :: atomic { req[me * 3 + READ_REQ]??k, p, f -> r = k; onRequest(READ_REQ); CLEAR } \
  :: atomic { req[me * 3 + WRITE_REQ]??k, p, f -> r = k; onRequest(WRITE_REQ); CLEAR } \
  :: atomic { req[me * 3 + EVICT_REQ]??k, p, f -> r = k; onRequest(EVICT_REQ); CLEAR }

#define READ_FAULT(pp) \
  :: atomic { ops[me] < MAXOPS && totalOps < TOTALOPS && pending[IX(me, pp)] == NONE && state[IX(me, pp)] == I -> \
       ops[me]++; totalOps++; pending[IX(me, pp)] = RD; SENDREQ(pp, READ_REQ, me, 0) }
#define WRITE_FAULT(pp) \
  :: atomic { ops[me] < MAXOPS && totalOps < TOTALOPS && pending[IX(me, pp)] == NONE && state[IX(me, pp)] != M -> \
       ops[me]++; totalOps++; pending[IX(me, pp)] = WR; SENDREQ(pp, WRITE_REQ, me, (state[IX(me, pp)] == S)) }
#define DROP(pp) \
  :: atomic { drops < MAXDROP && state[IX(me, pp)] == S && !owner[IX(me, pp)] && pending[IX(me, pp)] == NONE -> \
       drops++; state[IX(me, pp)] = I }
#define EVICT(pp) \
  :: atomic { evicts < MAXEVICT && owner[IX(me, pp)] && HOME(pp) != me && pending[IX(me, pp)] == NONE && !evicting[IX(me, pp)] -> \
       evicts++; evicting[IX(me, pp)] = 1; SENDREQ(pp, EVICT_REQ, me, 0) }

#ifdef SPLIT
/* block b of the page, on the unit this node's granularity says */
#define UNIT(b) (nodeSplit[me] -> (b) : PG)
#define BLOCK_READ_FAULT(b) \
  :: atomic { ops[me] < MAXOPS && totalOps < TOTALOPS && pending[IX(me, UNIT(b))] == NONE && state[IX(me, UNIT(b))] == I -> \
       ops[me]++; totalOps++; p = UNIT(b); pending[IX(me, p)] = RD; SENDREQ(p, READ_REQ, me, 0); CLEAR }
#define BLOCK_WRITE_FAULT(b) \
  :: atomic { ops[me] < MAXOPS && totalOps < TOTALOPS && pending[IX(me, UNIT(b))] == NONE && state[IX(me, UNIT(b))] != M -> \
       ops[me]++; totalOps++; p = UNIT(b); pending[IX(me, p)] = WR; SENDREQ(p, WRITE_REQ, me, (state[IX(me, p)] == S)); CLEAR }
/* a read of block b sees its latest version, through the block or the page */
#define BLOCK_READ(b) \
  :: atomic { (nodeSplit[me] && state[IX(me, b)] != I) -> assert(ver[IX(me, b)] == latest[b]) } \
  :: atomic { (!nodeSplit[me] && state[IX(me, PG)] != I) -> assert(VER(ver[IX(me, PG)], b) == latest[b]) }
#define BLOCK_WRITE(b) \
  :: atomic { (nodeSplit[me] && state[IX(me, b)] == M && writes[b] < MAXW) -> \
       writes[b]++; latest[b]++; ver[IX(me, b)] = latest[b]; blockWrites[b]++; blockWriter[me * 2 + b] = 1 } \
  :: atomic { (!nodeSplit[me] && state[IX(me, PG)] == M && writes[b] < MAXW) -> \
       writes[b]++; latest[b]++; ver[IX(me, PG)] = (ver[IX(me, PG)] & ~(3 << (2 * b))) | (latest[b] << (2 * b)) }
#endif

proctype Node(byte me) {
  byte p, r, v, cs, t;
  bit f;
end:
  do
  /* ---- the local harts: faults, reads, writes ---- */
#ifdef SPLIT
  BLOCK_READ_FAULT(0)
  BLOCK_READ_FAULT(1)
  BLOCK_WRITE_FAULT(0)
  BLOCK_WRITE_FAULT(1)
  BLOCK_READ(0)
  BLOCK_READ(1)
  BLOCK_WRITE(0)
  BLOCK_WRITE(1)
  /* ---- granularity: the manager splits and merges; every node follows ---- */
  :: atomic { (me == 0 && !granBusy && !mgrSplit && !mgrBusy[PG] && splits < MAXSPLIT) -> startSplit(); CLEAR }
  :: atomic { (me == 0 && !granBusy && mgrSplit && !mgrBusy[0] && !mgrBusy[1] && merges < MAXMERGE) -> startMerge(); CLEAR }
  :: atomic { gran[me]?t, r, cs, v -> if :: t == G_SPLIT -> onSplit() :: else -> onMerge() fi; CLEAR }
  :: atomic { (me == 0 && nempty(granAck)) -> granAck?t, r, cs, v; onGranAck(); CLEAR }
  :: atomic { (me == 0 && !granBusy && !mgrBusy[0] && nempty(mq[0])) -> p = 0; startNext(); CLEAR }
  :: atomic { (me == 0 && !granBusy && !mgrBusy[1] && nempty(mq[1])) -> p = 1; startNext(); CLEAR }
  :: atomic { (me == 0 && !granBusy && !mgrBusy[PG] && nempty(mq[PG])) -> p = PG; startNext(); CLEAR }
  :: atomic { ackch[IX(me, 2)]?r -> p = 2; onInvAck(); CLEAR }
#else
  READ_FAULT(0)
  READ_FAULT(1)
  WRITE_FAULT(0)
  WRITE_FAULT(1)
  :: atomic { (state[IX(me, 0)] != I) -> assert(ver[IX(me, 0)] == latest[0]) }
  :: atomic { (state[IX(me, 1)] != I) -> assert(ver[IX(me, 1)] == latest[1]) }
  :: atomic { (state[IX(me, 0)] == M && writes[0] < MAXW) -> writes[0]++; latest[0]++; ver[IX(me, 0)] = latest[0] }
  :: atomic { (state[IX(me, 1)] == M && writes[1] < MAXW) -> writes[1]++; latest[1]++; ver[IX(me, 1)] = latest[1] }
  /* ---- capacity: drop a SHARED copy silently, or hand an owned page home ---- */
  DROP(0)
  DROP(1)
  EVICT(0)
  EVICT(1)
  :: atomic { (me < P && !mgrBusy[me] && nempty(mq[me])) -> p = me; startNext(); CLEAR }
#endif
  REQUESTS(0)
  REQUESTS(1)
  REQUESTS(2)
  RECV(CONFIRM, onConfirm())
  RECV(EVICT_DATA, onEvictData())
  RECV(FWD_READ, onFwdRead())
  RECV(FWD_WRITE, onFwdWrite())
  RECV(FWD_EVICT, onFwdEvict())
  RECV(EVICT_NACK, evicting[X] = 0)
  RECV(READ_DATA, onReadData())
  RECV(WRITE_DATA, onWriteData())
  RECV(INV, onInv())
  :: atomic { ackch[IX(me, 0)]?r -> p = 0; onInvAck(); CLEAR }
  :: atomic { ackch[IX(me, 1)]?r -> p = 1; onInvAck(); CLEAR }
  RECV(RETRY, onRetry())
  od
}

/* Single writer XOR readers, on every page, in every reachable state. */
#ifdef SPLIT
/* a node's effective state of block b: the block's when split, else the page's (the other is I) */
#define EFF(n, b) (state[IX(n, b)] + state[IX(n, PG)])
#else
#define EFF(n, b) state[IX(n, b)]
#endif
#define SWMR(p) ( (EFF(0,p) != M || (EFF(1,p) == I && EFF(2,p) == I)) && \
                  (EFF(1,p) != M || (EFF(0,p) == I && EFF(2,p) == I)) && \
                  (EFF(2,p) != M || (EFF(0,p) == I && EFF(1,p) == I)) )

active proctype monitor() {
end:
  atomic { !(SWMR(0) && SWMR(1)) -> assert(false) }
}

#ifdef COVER
/* not a property: SPIN must find this run, so the bounds cover a split, a
 * write to each block from two different nodes while split, and a merge */
active proctype cover() {
end:
  atomic { (merges == 1 && blockWrites[0] > 0 && blockWrites[1] > 0 &&
            ((blockWriter[0] && (blockWriter[3] || blockWriter[5])) ||
             (blockWriter[2] && (blockWriter[1] || blockWriter[5])) ||
             (blockWriter[4] && (blockWriter[1] || blockWriter[3])))) -> assert(false) }
}
#endif

/* When nothing can move, every fault has completed and all is idle. */
active proctype quiescence() {
  byte i;
end:
  timeout ->
  atomic {
    for (i : 0 .. N * P - 1) { assert(pending[i] == NONE) }
    for (i : 0 .. N * P * T - 1) { assert(len(ch[i]) == 0) }
    for (i : 0 .. N * 3 - 1) { assert(len(req[i]) == 0) }
    for (i : 0 .. N * P - 1) { assert(len(ackch[i]) == 0) }
    for (i : 0 .. P - 1) { assert(!mgrBusy[i] && len(mq[i]) == 0) }
#ifdef SPLIT
    assert(!granBusy && len(granAck) == 0);
    for (i : 0 .. N - 1) { assert(len(gran[i]) == 0) }
#endif
  }
}

init {
  byte p;
  atomic {
    /* every page starts owned by its home, MODIFIED, version 0 (zero page) */
#ifdef SPLIT
    owner[IX(0, PG)] = 1;
    state[IX(0, PG)] = M;
#else
    for (p : 0 .. P - 1) {
      owner[IX(HOME(p), p)] = 1;
      state[IX(HOME(p), p)] = M;
      mgrOwner[p] = HOME(p)
    }
#endif
    run Node(0);
    run Node(1);
    run Node(2)
  }
}
