import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QmpFramer, type FramedItem } from '../../src/control/qmp-framer.js';

function feed(framer: QmpFramer, ...chunks: (string | Buffer)[]): FramedItem[] {
  return chunks.flatMap((c) => framer.push(typeof c === 'string' ? Buffer.from(c) : c));
}

test('one object per line, CRLF, blank lines ignored', () => {
  const f = new QmpFramer(1024);
  assert.deepEqual(feed(f, '{"execute":"stop"}\r\n\r\n\n{"execute":"cont"}\n'), [
    { kind: 'message', text: '{"execute":"stop"}' },
    { kind: 'message', text: '{"execute":"cont"}' },
  ]);
});

test('several objects on one line and an object without a newline are messages (as QEMU streams them)', () => {
  const f = new QmpFramer(1024);
  assert.deepEqual(
    feed(f, '{"execute":"a"} {"execute":"b"}{"execute":"c"}').map((i) => i.kind === 'message' && i.text.trim()),
    ['{"execute":"a"}', '{"execute":"b"}', '{"execute":"c"}'],
  );
});

test('a message split over chunks, with brackets and escaped quotes inside strings', () => {
  const f = new QmpFramer(1024);
  const text = '{"execute":"x","id":"a}\\"]{[b","arguments":{"l":[1,{"z":"}"}]}}';
  const parts = [text.slice(0, 7), text.slice(7, 19), text.slice(19, 20), text.slice(20), '\n'];
  const items = feed(f, ...parts);
  assert.deepEqual(items, [{ kind: 'message', text }]);
  assert.deepEqual(JSON.parse(text).arguments, { l: [1, { z: '}' }] });
});

test('multi-byte UTF-8 split inside a character survives', () => {
  const f = new QmpFramer(1024);
  const bytes = Buffer.from('{"id":"héllo ✓"}\n');
  const cut = bytes.indexOf(0xe2) + 1; // inside the 3-byte check mark
  const items = feed(f, bytes.subarray(0, cut), bytes.subarray(cut));
  assert.deepEqual(items, [{ kind: 'message', text: '{"id":"héllo ✓"}' }]);
});

test('an unbalanced line is malformed and the next line parses afresh', () => {
  const f = new QmpFramer(1024);
  assert.deepEqual(feed(f, '{"execute": "stop"\n{"execute":"cont"}\n'), [
    { kind: 'malformed', text: '{"execute": "stop"' },
    { kind: 'message', text: '{"execute":"cont"}' },
  ]);
  assert.deepEqual(feed(f, '"unterminated\n} x\n'), [
    { kind: 'malformed', text: '"unterminated' },
    { kind: 'malformed', text: '}' },
    { kind: 'message', text: ' x' },
  ]);
});

test('scalars and garbage on a line are handed over for the parser to reject', () => {
  const f = new QmpFramer(1024);
  assert.deepEqual(feed(f, 'hello world\n42\n'), [
    { kind: 'message', text: 'hello world' },
    { kind: 'message', text: '42' },
  ]);
});

test('a message over the cap is reported once with its size, then framing recovers at the newline', () => {
  const f = new QmpFramer(100);
  const big = '{"execute":"' + 'x'.repeat(300) + '"}';
  const items = feed(f, big.slice(0, 50), big.slice(50, 250), big.slice(250), '\n{"execute":"ok"}\n');
  assert.deepEqual(items, [
    { kind: 'oversized', bytes: big.length },
    { kind: 'message', text: '{"execute":"ok"}' },
  ]);
});

test('a message of exactly the cap is accepted', () => {
  const text = '{"execute":"' + 'y'.repeat(100 - 14) + '"}';
  assert.equal(Buffer.byteLength(text), 100);
  const f = new QmpFramer(100);
  assert.deepEqual(feed(f, text + '\n'), [{ kind: 'message', text }]);
  const g = new QmpFramer(99);
  assert.equal(feed(g, text + '\n')[0].kind, 'oversized');
});
