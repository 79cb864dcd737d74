import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleEscape } from '../../src/devices/console-escape.js';

const enc = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));

test('plain bytes pass through unchanged', () => {
  const e = new ConsoleEscape();
  const r = e.feed(enc('ls -l\r'));
  assert.deepEqual(r.toGuest, enc('ls -l\r'));
  assert.deepEqual(r.actions, []);
});

test('Ctrl-A x quits, Ctrl-A h and ? ask for help, both swallowed', () => {
  const e = new ConsoleEscape();
  const r = e.feed(enc('a\x01hb\x01?c\x01x'));
  assert.deepEqual(r.toGuest, enc('abc'));
  assert.deepEqual(r.actions, ['help', 'help', 'quit']);
});

test('Ctrl-A Ctrl-A sends one literal Ctrl-A; Ctrl-A c and unknown keys are swallowed', () => {
  const e = new ConsoleEscape();
  const r = e.feed(enc('\x01\x01\x01cz\x01q'));
  assert.deepEqual(r.toGuest, enc('\x01z'));
  assert.deepEqual(r.actions, []);
});

test('an escape split across two reads still works', () => {
  const e = new ConsoleEscape();
  const r1 = e.feed(enc('ab\x01'));
  assert.deepEqual(r1.toGuest, enc('ab'));
  assert.equal(e.pending, true);
  const r2 = e.feed(enc('x'));
  assert.deepEqual(r2.toGuest, enc(''));
  assert.deepEqual(r2.actions, ['quit']);
  assert.equal(e.pending, false);
});
