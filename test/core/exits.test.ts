/** The wasm boundary: exits, MMIO completion, DSM faults and page states, SBI, HTIF, budget, code invalidation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WasmCore } from '../../src/node/wasm-core.js';
import { LocalGuestMemory } from '../../src/node/local-memory.js';
import {
  ACCESS_FETCH, ACCESS_READ, ACCESS_WRITE,
  PAGE_SHARED, PAGE_MODIFIED, PAGE_FRAME_SHIFT, MIP_MEIP,
} from '../../src/core/abi.js';
import { X, addi, auipc, lui, load, store, j, ECALL, WFI, NOP, words } from './encode.js';

const BASE = 0x8000_0000;

function machine(code: Uint8Array): { core: WasmCore; mem: LocalGuestMemory } {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1 });
  const mem = new LocalGuestMemory(core);
  mem.writeSync(BASE, code);
  core.resetHart(0, BigInt(BASE), 3);
  return { core, mem };
}

test('MMIO load exits before the instruction and completes exactly once', () => {
  const { core } = machine(words(lui(X.t0, 0x10000), load('w', X.a0, X.t0, 4), addi(X.a0, X.a0, 1), WFI));
  assert.deepEqual(core.run(0, 100), { kind: 'mmio', addr: 0x1000_0004, size: 4, write: false, data: 0n });
  assert.equal(core.getPc(0), BigInt(BASE + 4));
  // re-entering without completing repeats the access
  assert.equal(core.run(0, 100).kind, 'mmio');
  assert.equal(core.getPc(0), BigInt(BASE + 4));
  core.completeMmioLoad(0, 0x8000_0000n);
  assert.equal(core.getPc(0), BigInt(BASE + 8));
  assert.equal(core.getX(0, X.a0), 0xffff_ffff_8000_0000n, 'lw sign-extends the device value');
  core.completeMmioLoad(0, 5n); // a second completion is ignored
  assert.equal(core.run(0, 100).kind, 'wfi');
  assert.equal(core.getX(0, X.a0), 0xffff_ffff_8000_0001n);
});

test('MMIO store exits after the instruction with address, size and data', () => {
  const { core } = machine(words(lui(X.t0, 0x10000), addi(X.a1, X.zero, -2), store('h', X.a1, X.t0, 6), WFI));
  assert.deepEqual(core.run(0, 100), { kind: 'mmio', addr: 0x1000_0006, size: 2, write: true, data: 0xfffen });
  assert.equal(core.getPc(0), BigInt(BASE + 12));
  assert.equal(core.run(0, 100).kind, 'wfi');
});

test('an exit in the middle of a run counts the instructions that ran, not the whole budget', () => {
  // lui, addi and the MMIO store retire before the exit; the retried load of a DSM fault does not
  const { core } = machine(words(lui(X.t0, 0x10000), addi(X.a1, X.zero, -2), store('h', X.a1, X.t0, 6), WFI));
  assert.equal(core.run(0, 100).kind, 'mmio');
  assert.equal(core.instret(0), 3n, 'lui, addi, sh');
  assert.equal(core.run(0, 100).kind, 'wfi');
  assert.equal(core.instret(0), 4n, 'and the wfi');
  const m2 = machine(words(lui(X.t0, 0x10000), load('w', X.a0, X.t0, 4), WFI));
  assert.equal(m2.core.run(0, 1000).kind, 'mmio');
  assert.equal(m2.core.instret(0), 2n, 'the MMIO load counts when it exits: the host completes it');
  m2.core.completeMmioLoad(0, 1n);
  assert.equal(m2.core.run(0, 1000).kind, 'wfi');
  assert.equal(m2.core.instret(0), 3n);
  // a DSM fault on a data page: the access is retried, so it is not counted
  const core3 = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1 });
  core3.resetHart(0, BigInt(BASE), 3);
  const f = core3.growFrames(1);
  core3.frameBytes(f).set(words(auipc(X.t0, 1), load('d', X.a0, X.t0, 0), WFI));
  core3.setPage(0, PAGE_SHARED | (f << PAGE_FRAME_SHIFT));
  assert.equal(core3.run(0, 500).kind, 'dsmFault');
  assert.equal(core3.instret(0), 1n, 'only the auipc');
});

test('DSM fault: nothing changes, and the access retries after the page state allows it', () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1 });
  core.resetHart(0, BigInt(BASE), 3);
  // first touch: the code page has no frame
  assert.deepEqual(core.run(0, 100), { kind: 'dsmFault', addr: BASE, size: 4096, access: ACCESS_FETCH });
  assert.equal(core.getPc(0), BigInt(BASE));
  assert.equal(core.instret(0), 0n);
  // give page 0 a frame in SHARED state holding code that stores to page 1
  const f0 = core.growFrames(2);
  const code = words(auipc(X.t0, 1), addi(X.a1, X.zero, 42), store('d', X.a1, X.t0, 0), load('d', X.a0, X.t0, 0), WFI);
  core.frameBytes(f0).set(code);
  core.setPage(0, PAGE_SHARED | (f0 << PAGE_FRAME_SHIFT));
  core.setPage(1, PAGE_SHARED | ((f0 + 1) << PAGE_FRAME_SHIFT));
  assert.deepEqual(core.run(0, 100), { kind: 'dsmFault', addr: BASE + 0x1000, size: 4096, access: ACCESS_WRITE });
  assert.equal(core.getPc(0), BigInt(BASE + 8), 'pc stays at the store');
  assert.equal(core.frameBytes(f0 + 1)[0], 0, 'memory unchanged');
  core.setPage(1, PAGE_MODIFIED | ((f0 + 1) << PAGE_FRAME_SHIFT));
  assert.equal(core.run(0, 100).kind, 'wfi');
  assert.equal(core.frameBytes(f0 + 1)[0], 42);
  assert.equal(core.getX(0, X.a0), 42n);
  // a downgrade drops the cached write translation: the next store faults again
  core.setPage(1, PAGE_SHARED | ((f0 + 1) << PAGE_FRAME_SHIFT));
  core.setPc(0, BigInt(BASE + 8));
  assert.deepEqual(core.run(0, 100), { kind: 'dsmFault', addr: BASE + 0x1000, size: 4096, access: ACCESS_WRITE });
});

test('ECALL from S-mode is an sbiCall exit when the built-in SBI is on', () => {
  const { core } = machine(words(addi(X.a7, X.zero, 0x10), ECALL, WFI));
  core.setSbiEnabled(0, true);
  core.setPriv(0, 1);
  assert.equal(core.run(0, 100).kind, 'sbiCall');
  assert.equal(core.getPc(0), BigInt(BASE + 8));
  assert.equal(core.getX(0, X.a7), 0x10n);
  core.setX(0, X.a0, 0n);
  assert.equal(core.run(0, 100).kind, 'wfi');
});

test('a store to tohost halts with the stored value', () => {
  const { core, mem } = machine(words(auipc(X.t0, 2), addi(X.a0, X.zero, 7), store('w', X.a0, X.t0, 8), j(0)));
  core.setTohost(BigInt(BASE + 0x2008));
  let r = core.run(0, 1000);
  if (r.kind === 'dsmFault' && mem.resolveFault(r)) r = core.run(0, 1000); // first touch of the tohost page
  assert.deepEqual(r, { kind: 'halt', value: 7n });
});

test('budget bounds the instructions executed per run', () => {
  const { core } = machine(words(addi(X.a0, X.a0, 1), j(-4)));
  assert.equal(core.run(0, 1000).kind, 'budget');
  assert.equal(core.instret(0), 1000n);
  assert.equal(core.getX(0, X.a0), 500n);
  assert.equal(core.run(0, 10).kind, 'budget');
  assert.equal(core.instret(0), 1010n);
});

test('a host write into RAM replaces decoded code', () => {
  const { core, mem } = machine(words(addi(X.a0, X.zero, 1), WFI));
  assert.equal(core.run(0, 100).kind, 'wfi');
  assert.equal(core.getX(0, X.a0), 1n);
  mem.writeSync(BASE, words(addi(X.a0, X.zero, 2)));
  core.setPc(0, BigInt(BASE));
  assert.equal(core.run(0, 100).kind, 'wfi');
  assert.equal(core.getX(0, X.a0), 2n);
});

test('an external interrupt raised by the host is taken at run() entry', () => {
  const { core } = machine(words(NOP, j(-4)));
  core.writeCsr(0, 0x305, BigInt(BASE + 0x100)); // mtvec
  core.writeCsr(0, 0x304, BigInt(MIP_MEIP)); // mie.MEIE
  core.writeCsr(0, 0x300, 8n); // mstatus.MIE
  core.setMip(0, MIP_MEIP);
  core.run(0, 0);
  assert.equal(core.getPc(0), BigInt(BASE + 0x100));
  assert.equal(core.readCsr(0, 0x342), (1n << 63n) | 11n);
  assert.equal(core.readCsr(0, 0x341), BigInt(BASE));
  core.clearMip(0, MIP_MEIP);
  assert.equal(core.getMip(0) & BigInt(MIP_MEIP), 0n);
});

test('growFrames reports wasm memory exhaustion as a typed error', () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1 });
  assert.throws(() => core.growFrames(2_000_000), /cannot add 2000000 frames/);
});

test('the host can turn an MMIO access into an access fault', () => {
  const { core } = machine(words(lui(X.t0, 0x20000), store('d', X.a1, X.t0, 0), WFI));
  core.writeCsr(0, 0x305, BigInt(BASE + 0x100)); // mtvec
  assert.deepEqual(core.run(0, 100), { kind: 'mmio', addr: 0x2000_0000, size: 8, write: true, data: 0n });
  core.mmioAccessFault(0);
  assert.equal(core.readCsr(0, 0x342), 7n, 'store/AMO access fault');
  assert.equal(core.readCsr(0, 0x341), BigInt(BASE + 4), 'mepc is the store');
  assert.equal(core.readCsr(0, 0x343), 0x2000_0000n, 'mtval is the address');
  assert.equal(core.getPc(0), BigInt(BASE + 0x100));
});

test('a page-table page without rights is a DSM fault on that page (read), the A/D update needs it writable', () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 1 });
  const mem = new LocalGuestMemory(core);
  // code at BASE; root page table at BASE + 0x10000 mapping 0x80000000 as a gigapage without A/D
  mem.writeSync(BASE, words(addi(X.a0, X.zero, 5), WFI));
  const pte = new DataView(new ArrayBuffer(8));
  pte.setBigUint64(0, ((0x8000_0000n >> 12n) << 10n) | 0xfn, true); // V R W X, A = D = 0
  mem.writeSync(BASE + 0x10000 + 2 * 8, new Uint8Array(pte.buffer));
  core.resetHart(0, BigInt(BASE), 1);
  core.writeCsr(0, 0x180, (8n << 60n) | BigInt((BASE + 0x10000) / 4096));
  // the host downgrades the page-table page to SHARED: the walk may read it but not set A
  const rootPage = 0x10;
  const entry = core.getPage(rootPage);
  core.setPage(rootPage, (entry & ~3) | PAGE_SHARED);
  assert.deepEqual(core.run(0, 100), { kind: 'dsmFault', addr: BASE + 0x10000, size: 4096, access: ACCESS_WRITE });
  // and INVALID: the walk cannot even read it
  core.setPage(rootPage, entry & ~3);
  assert.deepEqual(core.run(0, 100), { kind: 'dsmFault', addr: BASE + 0x10000, size: 4096, access: ACCESS_READ });
  core.setPage(rootPage, entry);
  assert.equal(core.run(0, 100).kind, 'wfi');
  assert.equal(core.getX(0, X.a0), 5n);
  const after = new DataView(mem.readSync(BASE + 0x10000 + 16, 8).buffer).getBigUint64(0, true);
  assert.equal(after & 0x40n, 0x40n, 'hardware set A');
});

test('flushTlb makes a changed page-table entry visible (remote SFENCE.VMA)', () => {
  const core = WasmCore.create({ ramBase: BASE, ramSize: 1 << 20, harts: 2 });
  const mem = new LocalGuestMemory(core);
  // hart 1 (S-mode, Sv39) loads from VA 0x40000000 (gigapage 1) twice, with a WFI in between
  mem.writeSync(BASE, words(lui(X.t0, 0x40000), load('d', X.a0, X.t0, 0), WFI, load('d', X.a1, X.t0, 0), WFI));
  const root = BASE + 0x10000;
  const put = (gpa: number, v: bigint): void => {
    const b = new DataView(new ArrayBuffer(8));
    b.setBigUint64(0, v, true);
    mem.writeSync(gpa, new Uint8Array(b.buffer));
  };
  put(root + 2 * 8, ((0x8000_0000n >> 12n) << 10n) | 0xcfn); // code: identity gigapage, RWX AD
  put(BASE + 0x20000, 111n);
  put(BASE + 0x20000 + 0x1000, 222n);
  // VA 0x40000000 -> root[1] -> l1[0] -> l0[0] -> the 4 KiB page at BASE + 0x20000
  const l1 = BASE + 0x30000;
  const l0 = BASE + 0x40000;
  put(root + 1 * 8, ((BigInt(l1) >> 12n) << 10n) | 1n);
  put(l1 + 0, ((BigInt(l0) >> 12n) << 10n) | 1n);
  put(l0 + 0, ((BigInt(BASE + 0x20000) >> 12n) << 10n) | 0xc7n);
  core.resetHart(1, BigInt(BASE), 1);
  core.writeCsr(1, 0x180, (8n << 60n) | BigInt(root / 4096));
  assert.equal(core.run(1, 100).kind, 'wfi');
  assert.equal(core.getX(1, X.a0), 111n);
  // another hart changes the PTE and asks for a remote fence
  put(l0 + 0, ((BigInt(BASE + 0x21000) >> 12n) << 10n) | 0xc7n);
  core.flushTlb(1);
  assert.equal(core.run(1, 100).kind, 'wfi');
  assert.equal(core.getX(1, X.a1), 222n);
});
