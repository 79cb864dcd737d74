#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's built-in
// runner, one process per file, in the groups of scripts/test-budget.json.
// Optional arguments filter by substring of the path: `npm test -- dsm router`.
//
// Honesty rules: a file that outlives its timeout is killed and fails; a
// group that outlives its budget fails; a skipped test fails the run unless
// scripts/skip-allow-list.json lists it (the matched entries and their
// reasons are printed at the end).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const budget = JSON.parse(readFileSync(new URL('./test-budget.json', import.meta.url), 'utf8'));
const allowList = JSON.parse(readFileSync(new URL('./skip-allow-list.json', import.meta.url), 'utf8')).allowed;

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('dist', []).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error(`no test files matched ${JSON.stringify(filters)} under dist/`);
  process.exit(1);
}

// Guest boots keep both cores busy: their group runs one file at a time,
// after the rest, so their timeouts measure HydraVM and not each other.
const matchers = budget.groups.map((g) => g.match ?? null);
const groupOf = (f) => {
  const i = matchers.findIndex((m) => m && m.some((k) => f.includes(k)));
  return i >= 0 ? i : matchers.findIndex((m) => m === null);
};
const timeoutOf = (g, f) => {
  const key = Object.keys(g.fileTimeoutSeconds).find((k) => f.includes(k));
  return key ? g.fileTimeoutSeconds[key] : g.defaultFileTimeoutSeconds;
};

// The sum has to stay in view: a serial group whose files (all of them, not
// only those a filter picked; unlisted files count with the group default)
// may together run longer than its budget is refused before anything runs.
const everyFile = walk('dist', []);
let total = budget.setupMinutes * 60;
for (const [gi, g] of budget.groups.entries()) {
  total += g.budgetSeconds;
  if (g.concurrency === 1) {
    const all = everyFile.filter((f) => groupOf(f) === gi).reduce((a, f) => a + timeoutOf(g, f), 0);
    if (all > g.budgetSeconds) {
      console.error(`scripts/test-budget.json: the per-file timeouts of group "${g.name}" add up to ${all} s, over its budget of ${g.budgetSeconds} s; lower them or raise the budget (and keep the total within ${budget.ciMinutes} min)`);
      process.exit(1);
    }
  }
}
if (total > budget.ciMinutes * 60) {
  console.error(`scripts/test-budget.json: setup and group budgets add up to ${Math.round(total / 60)} min, over the CI limit of ${budget.ciMinutes} min`);
  process.exit(1);
}

/** Runs one file; resolves with its outcome. The process group is killed at the timeout. */
function runFile(file, timeoutS) {
  return new Promise((resolve) => {
    const start = Date.now();
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', file], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ file, out, code, signal, timedOut, seconds: (Date.now() - start) / 1000 });
    });
  });
}

/** Test names marked SKIP or TODO in TAP output. */
function skipsIn(tap) {
  const out = [];
  for (const line of tap.split('\n')) {
    const m = /^\s*ok \d+ - (.*?) # (SKIP|TODO)\b ?(.*)$/.exec(line);
    if (m) out.push({ test: m[1], why: m[3] });
  }
  return out;
}

const results = [];
let status = 0;
const groupReport = [];
for (const [gi, g] of budget.groups.entries()) {
  const mine = files.filter((f) => groupOf(f) === gi);
  if (mine.length === 0) continue;
  const start = Date.now();
  const queue = [...mine];
  let overBudget = false;
  const budgetTimer = setTimeout(() => (overBudget = true), g.budgetSeconds * 1000);
  const worker = async () => {
    while (queue.length > 0) {
      const f = queue.shift();
      if (overBudget) {
        results.push({ file: f, out: '', code: null, signal: null, timedOut: false, seconds: 0, notRun: true });
        continue;
      }
      const r = await runFile(f, timeoutOf(g, f));
      results.push(r);
      const verdict = r.timedOut ? `KILLED after its ${timeoutOf(g, f)} s timeout` : r.code === 0 ? 'ok' : `FAILED (exit ${r.code ?? r.signal})`;
      process.stdout.write(`\n=== ${f} (${r.seconds.toFixed(1)} s): ${verdict}\n${r.code === 0 && !r.timedOut ? r.out.split('\n').filter((l) => /^# (tests|pass|fail|skipped|todo)/.test(l)).join('\n') : r.out}\n`);
    }
  };
  await Promise.all(Array.from({ length: g.concurrency }, worker));
  clearTimeout(budgetTimer);
  const seconds = (Date.now() - start) / 1000;
  groupReport.push(`group "${g.name}": ${mine.length} files in ${seconds.toFixed(0)} s (budget ${g.budgetSeconds} s)${overBudget ? ' OVER BUDGET' : ''}`);
  if (overBudget) status = 1;
}

const failed = results.filter((r) => r.code !== 0 || r.timedOut || r.notRun);
const allowedSkips = [];
const badSkips = [];
for (const r of results) {
  for (const s of skipsIn(r.out)) {
    const entry = allowList.find((a) => r.file.includes(a.file) && s.test.includes(a.test));
    if (entry) allowedSkips.push(`  ${r.file}: "${s.test}" (${s.why}) -- allowed: ${entry.reason}`);
    else badSkips.push(`  ${r.file}: "${s.test}" (${s.why})`);
  }
}

console.log('\n==== test summary');
for (const l of groupReport) console.log(l);
console.log('slowest files:');
for (const r of [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 8)) console.log(`  ${r.seconds.toFixed(1).padStart(7)} s  ${r.file}`);
if (allowedSkips.length) console.log(`skipped, on the allow-list (scripts/skip-allow-list.json):\n${allowedSkips.join('\n')}`);
if (badSkips.length) {
  console.log(`SKIPPED and not on the allow-list (fails the run; fix the cause or add an entry with a reason):\n${badSkips.join('\n')}`);
  status = 1;
}
if (failed.length) {
  console.log(`FAILED files:\n${failed.map((r) => `  ${r.file}${r.timedOut ? ' (timed out)' : r.notRun ? ' (not run: group over budget)' : ''}`).join('\n')}`);
  status = 1;
}
console.log(status === 0 ? `all ${results.length} files passed` : 'test run FAILED');
process.exit(status);
