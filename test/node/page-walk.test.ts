import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translate, type WalkContext } from '../../src/node/page-walk.js';

const V = 1n, R = 2n, W = 4n, X = 8n, U = 16n;
const SV39 = 8n << 60n;
const SV48 = 9n << 60n;

/** Guest page tables in a Map of 8-byte words; PTEs point at 4 KiB-aligned tables. */
class Tables {
  readonly words = new Map<bigint, bigint>();
  private next = 0x8010_0000n;
  alloc(): bigint {
    const t = this.next;
    this.next += 0x1000n;
    return t;
  }
  set(table: bigint, index: bigint, pa: bigint, flags: bigint): void {
    this.words.set(table + index * 8n, ((pa >> 12n) << 10n) | flags);
  }
  readonly read = (pa: bigint): bigint | undefined => this.words.get(pa) ?? (pa >= 0x8000_0000n && pa < 0x9000_0000n ? 0n : undefined);
}

const vpn = (va: bigint, level: number): bigint => (va >> BigInt(12 + 9 * level)) & 511n;

/** Sv39 tables mapping one 4 KiB page at `va` to `pa` with `flags`, through three levels. */
function sv39Page(va: bigint, pa: bigint, flags: bigint): { t: Tables; satp: bigint } {
  const t = new Tables();
  const l2 = t.alloc(), l1 = t.alloc(), l0 = t.alloc();
  t.set(l2, vpn(va, 2), l1, V);
  t.set(l1, vpn(va, 1), l0, V);
  t.set(l0, vpn(va, 0), pa, flags | V);
  return { t, satp: SV39 | (l2 >> 12n) };
}

const S = (satp: bigint, mstatus = 0n): WalkContext => ({ satp, priv: 1, mstatus });

test('Sv39: a 4 KiB page through three levels translates, offset kept', () => {
  const va = 0xffff_ffc0_0123_4000n;
  const { t, satp } = sv39Page(va, 0x8040_2000n, R | X);
  assert.deepEqual(translate(va + 0xabcn, 'fetch', S(satp), t.read), { ok: true, pa: 0x8040_2abcn });
});

test('M mode and satp bare do not translate', () => {
  const { t, satp } = sv39Page(0x1000n, 0x8000_0000n, R | X);
  assert.deepEqual(translate(0x8000_1234n, 'fetch', { satp, priv: 3, mstatus: 0n }, t.read), { ok: true, pa: 0x8000_1234n });
  assert.deepEqual(translate(0x8000_1234n, 'fetch', S(0n), t.read), { ok: true, pa: 0x8000_1234n });
});

test('Sv39 gigapage and Sv48 megapage: the low VPNs come from the address', () => {
  const t = new Tables();
  const root = t.alloc();
  t.set(root, 2n, 0x8000_0000n, V | R | X); // VA 0x8000_0000.. -> PA 0x8000_0000 (1 GiB)
  assert.deepEqual(translate(0x8765_4321n, 'fetch', S(SV39 | (root >> 12n)), t.read), { ok: true, pa: 0x8765_4321n });

  const t48 = new Tables();
  const l3 = t48.alloc(), l2 = t48.alloc(), l1 = t48.alloc();
  const va = 0x0000_7f12_3440_0000n + 0x1_5678n;
  t48.set(l3, vpn(va, 3), l2, V);
  t48.set(l2, vpn(va, 2), l1, V);
  t48.set(l1, vpn(va, 1), 0x8060_0000n, V | R | X); // 2 MiB
  assert.deepEqual(translate(va, 'fetch', S(SV48 | (l3 >> 12n)), t48.read), { ok: true, pa: 0x8060_0000n + (va & 0x1f_ffffn) });
});

test('faults the hart would take: non-canonical, invalid, not executable, user page from S, misaligned superpage', () => {
  const va = 0x4000_1000n;
  const fault = (r: ReturnType<typeof translate>, re: RegExp): void => {
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.fault === 'page' && re.test(r.reason), JSON.stringify(r));
  };
  const rw = sv39Page(va, 0x8040_0000n, R | W);
  fault(translate(0x0000_0040_0000_0000n, 'fetch', S(rw.satp), rw.t.read), /canonical/);
  fault(translate(va + 0x1000n, 'fetch', S(rw.satp), rw.t.read), /not valid/);
  fault(translate(va, 'fetch', S(rw.satp), rw.t.read), /not executable/);
  assert.deepEqual(translate(va, 'write', S(rw.satp), rw.t.read), { ok: true, pa: 0x8040_0000n });

  const user = sv39Page(va, 0x8040_0000n, R | X | U);
  fault(translate(va, 'fetch', S(user.satp, 1n << 18n), user.t.read), /supervisor access to a user page/);
  assert.deepEqual(translate(va, 'fetch', { satp: user.satp, priv: 0, mstatus: 0n }, user.t.read), { ok: true, pa: 0x8040_0000n });
  fault(translate(va, 'read', S(user.satp), user.t.read), /supervisor access/);
  assert.equal(translate(va, 'read', S(user.satp, 1n << 18n), user.t.read).ok, true, 'SUM lets S read a user page');

  const t = new Tables();
  const root = t.alloc();
  t.set(root, 2n, 0x8020_0000n, V | R | X); // gigapage whose PPN is not 1 GiB aligned
  fault(translate(0x8000_0000n, 'fetch', S(SV39 | (root >> 12n)), t.read), /misaligned superpage/);
});

test('a page table outside what can be read is reported with its address', () => {
  const t = new Tables();
  const root = t.alloc();
  t.set(root, 0n, 0x1_0000_0000n, V); // next level outside RAM
  assert.deepEqual(translate(0x1000n, 'fetch', S(SV39 | (root >> 12n)), t.read), { ok: false, fault: 'unreadable', pteAddr: 0x1_0000_0000n });
});
