/**
 * The --trace disassembler against GNU objdump (binutils 2.40, Debian's
 * riscv64-linux-gnu cross tools). Three comparisons: an assembled corpus of
 * every RV64GC instruction form, every 16-bit word, and seeded random 32-bit
 * words. Plus a fuzz that it never throws.
 *
 * Known harmless differences, normalized before comparing (see normalizeObjdump):
 *  - operands: we print ", " between them, objdump prints ",".
 *  - branch/jump targets: objdump on an ELF prints bare hex plus "<symbol+off>";
 *    we print 0x-prefixed absolute addresses and no symbol.
 *  - objdump appends "# address" comments to some instructions; dropped.
 *  - binutils 2.40 picks the register-form alias for immediate-form ALU and CSR
 *    instructions ("add a0,a0,1" for addi, "sll" for slli, "csrw mstatus,8"
 *    for csrwi); we print the real instruction name. Fixed in later binutils.
 *  - undecodable words: objdump prints ".4byte 0x..." / ".2byte 0x..." (or
 *    ".word"/".short" in data), we print "unknown 0x...".
 *  - fcvt.d.w, fcvt.d.wu, fcvt.d.s with a rounding mode other than rne:
 *    objdump 2.40 rejects them, but they are valid (older assemblers emitted
 *    rm=dyn) and the hart executes them, so we decode them (WIDENING_WITH_RM).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disassemble } from '../../src/disasm/disasm.js';

const GCC = 'riscv64-linux-gnu-gcc';
const OBJDUMP = 'riscv64-linux-gnu-objdump';

function haveCrossTools(): boolean {
  return [GCC, OBJDUMP].every((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0);
}
const crossSkip = haveCrossTools() ? false : `${GCC} / ${OBJDUMP} not installed (apt-get install gcc-riscv64-linux-gnu)`;

const BRANCHES = new Set(['j', 'jal', 'beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu', 'beqz', 'bnez', 'blez', 'bgez', 'bltz', 'bgtz']);
const IMM_ALIASED = new Set(['add', 'sll', 'srl', 'sra', 'and', 'or', 'xor', 'slt', 'sltu', 'addw', 'sllw', 'srlw', 'sraw']);
const NUMBER = /^-?(0x[0-9a-f]+|[0-9]+)$/;

function normalizeObjdump(mnemonic: string, operandText: string): string {
  if (mnemonic.startsWith('.')) return 'UNKNOWN';
  const text = operandText.replace(/#.*$/, '').replace(/<[^>]*>/g, '').trim();
  const o = text ? text.split(',').map((s) => s.trim()) : [];
  let m = mnemonic;
  const last = o.length - 1;
  if (BRANCHES.has(m) && last >= 0 && !o[last]!.startsWith('0x')) o[last] = `0x${o[last]}`;
  if (IMM_ALIASED.has(m) && o.length === 3 && NUMBER.test(o[2]!)) m = m.endsWith('w') ? `${m.slice(0, -1)}iw` : `${m}i`;
  if (/^csrr?[wsc]$/.test(m) && last >= 0 && /^[0-9]+$/.test(o[last]!)) m = `${m}i`;
  return o.length ? `${m} ${o.join(', ')}` : m;
}

function normalizeOurs(text: string): string {
  return text.startsWith('unknown 0x') ? 'UNKNOWN' : text;
}

/** fcvt.d.w / fcvt.d.wu / fcvt.d.s with rm != 0: decoded by us, rejected by objdump 2.40. */
function isWideningWithRm(insn: number): boolean {
  if ((insn & 3) !== 3 || (insn & 0x7f) !== 0x53 || ((insn >>> 12) & 7) === 0) return false;
  const f7 = insn >>> 25;
  const rs2 = (insn >>> 20) & 31;
  return (f7 === 0x69 && rs2 <= 1) || (f7 === 0x21 && rs2 === 0);
}

interface Comparison {
  total: number;
  /** Documented deviations (WIDENING_WITH_RM) that were accepted. */
  accepted: number;
  mismatches: string[];
  kinds: Set<string>;
}

/** Runs objdump, re-disassembles each line it printed and collects disagreements. */
function compareWithObjdump(objdumpArgs: string[]): Comparison {
  const out = execFileSync(OBJDUMP, objdumpArgs, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const result: Comparison = { total: 0, accepted: 0, mismatches: [], kinds: new Set() };
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f]+):\s+([0-9a-f]{4}|[0-9a-f]{8})\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const word = parseInt(m[2]!, 16);
    const d = disassemble(word, BigInt(`0x${m[1]}`));
    result.total++;
    result.kinds.add(`${d.length}:${d.text.split(' ')[0]}`);
    assert.equal(d.length, m[2]!.length === 4 ? 2 : 4, `length of ${m[2]}`);
    const expected = normalizeObjdump(m[3]!, m[4]!);
    const got = normalizeOurs(d.text);
    if (expected === got) continue;
    if (expected === 'UNKNOWN' && isWideningWithRm(word)) {
      result.accepted++;
      continue;
    }
    result.mismatches.push(`${m[2]}: objdump "${expected}" ours "${got}"`);
  }
  return result;
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-disasm-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** objdump on a raw binary decodes every word as an instruction (no mapping symbols). */
function compareRawWords(words: number[], bytesPerWord: 2 | 4): Comparison {
  return withTempDir((dir) => {
    const buf = Buffer.alloc(words.length * bytesPerWord);
    words.forEach((w, i) => (bytesPerWord === 2 ? buf.writeUInt16LE(w, i * 2) : buf.writeUInt32LE(w >>> 0, i * 4)));
    const file = join(dir, 'words.bin');
    writeFileSync(file, buf);
    return compareWithObjdump(['-D', '-b', 'binary', '-m', 'riscv:rv64', '--adjust-vma=0x80000000', file]);
  });
}

/** xorshift32: reproducible random words. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const CORPUS = String.raw`
.text
.globl _start
_start:
.option norvc
# RV64I
lui a0, 0x12345
lui t6, 0xfffff
auipc ra, 0x0
auipc s11, 0x80000
jal ra, 1f
jal zero, 1f
jal t0, 1f
1:
jalr zero, 0(ra)
jalr zero, 0(a0)
jalr zero, 12(a0)
jalr ra, 0(t1)
jalr ra, -8(t1)
jalr t0, 16(a5)
jalr t0, 0(a5)
beq a0, a1, 1b
beq a0, zero, 1b
beq zero, a0, 1b
bne s0, s1, 2f
bne a5, zero, 2f
blt a0, a1, 2f
blt a0, zero, 2f
blt zero, a0, 2f
bge t0, t1, 2f
bge a0, zero, 2f
bge zero, a0, 2f
bltu a2, a3, 2f
bgeu a4, a5, 2f
2:
lb a0, 0(a1)
lh a0, -2(a1)
lw a0, 4(sp)
ld ra, 8(sp)
lbu t0, 2047(t1)
lhu t0, -2048(t1)
lwu s2, 100(s3)
sb a0, 0(a1)
sh a0, -2(a1)
sw a0, 4(sp)
sd ra, 8(sp)
sd s11, -2048(t6)
addi a0, a0, 1
addi sp, sp, -16
addi zero, zero, 0
addi a0, zero, 5
addi a0, zero, -2048
addi a0, a1, 0
addi t3, t4, 2047
slti a0, a1, -1
sltiu a0, a1, 1
sltiu a0, a1, 2
xori a0, a1, -1
xori a0, a1, 255
ori a0, a1, 0x7f
andi a0, a1, 0xff
andi a0, a1, -8
slli a0, a1, 3
slli a0, a1, 63
srli a0, a1, 1
srli a0, a1, 32
srai a0, a1, 7
srai a0, a1, 63
add a0, a1, a2
sub a0, a1, a2
sub a0, zero, a2
sll a0, a1, a2
slt a0, a1, a2
slt a0, a1, zero
slt a0, zero, a2
sltu a0, a1, a2
sltu a0, zero, a2
xor a0, a1, a2
srl a0, a1, a2
sra a0, a1, a2
or a0, a1, a2
and a0, a1, a2
addiw a0, a1, 1
addiw a0, a1, 0
addiw a0, a1, -2048
slliw a0, a1, 31
srliw a0, a1, 5
sraiw a0, a1, 17
addw a0, a1, a2
subw a0, a1, a2
subw a0, zero, a2
sllw a0, a1, a2
srlw a0, a1, a2
sraw a0, a1, a2
fence
fence rw, rw
fence r, w
fence iorw, ow
fence i, o
fence.tso
fence.i
ecall
ebreak
# RV64M
mul a0, a1, a2
mulh a0, a1, a2
mulhsu a0, a1, a2
mulhu a0, a1, a2
div a0, a1, a2
divu a0, a1, a2
rem a0, a1, a2
remu a0, a1, a2
mulw a0, a1, a2
divw a0, a1, a2
divuw a0, a1, a2
remw a0, a1, a2
remuw a0, a1, a2
# RV64A
lr.w a0, (a1)
lr.w.aq a0, (a1)
lr.w.rl a0, (a1)
lr.w.aqrl a0, (a1)
lr.d a0, (a1)
lr.d.aqrl t0, (sp)
sc.w a0, a2, (a1)
sc.w.rl a0, a2, (a1)
sc.d a0, a2, (a1)
sc.d.aq a0, a2, (a1)
amoswap.w a0, a2, (a1)
amoswap.d.aqrl a0, a2, (a1)
amoadd.w a0, a2, (a1)
amoadd.d.aq a0, a2, (a1)
amoxor.w a0, a2, (a1)
amoxor.d.rl a0, a2, (a1)
amoand.w a0, a2, (a1)
amoand.d a0, a2, (a1)
amoor.w.aq a0, a2, (a1)
amoor.d a0, a2, (a1)
amomin.w a0, a2, (a1)
amomin.d a0, a2, (a1)
amomax.w a0, a2, (a1)
amomax.d.aqrl a0, a2, (a1)
amominu.w a0, a2, (a1)
amominu.d a0, a2, (a1)
amomaxu.w a0, a2, (a1)
amomaxu.d a0, zero, (a1)
# Zicsr
csrrw a0, mstatus, a1
csrrs a0, mie, a1
csrrc a0, mip, a1
csrrwi a0, mtvec, 5
csrrsi a0, sstatus, 2
csrrci a0, sie, 31
csrr a0, mhartid
csrr t0, satp
csrr a0, 0x7c0
csrw mstatus, a0
csrw satp, t0
csrs mie, a0
csrc mip, a0
csrwi mscratch, 8
csrsi mstatus, 8
csrci sstatus, 2
rdcycle a0
rdtime a0
rdinstret a0
csrr a0, mcycle
csrr a0, minstret
csrr a0, mvendorid
csrr a0, marchid
csrr a0, mimpid
csrr a0, misa
csrr a0, medeleg
csrr a0, mideleg
csrr a0, mcounteren
csrr a0, menvcfg
csrr a0, mscratch
csrr a0, mepc
csrr a0, mcause
csrr a0, mtval
csrr a0, pmpcfg0
csrr a0, pmpaddr0
csrr a0, pmpaddr63
csrr a0, mhpmcounter3
csrr a0, mhpmevent31
csrr a0, mcountinhibit
csrr a0, stvec
csrr a0, scounteren
csrr a0, sscratch
csrr a0, sepc
csrr a0, scause
csrr a0, stval
csrr a0, senvcfg
csrr a0, hpmcounter4
csrr a0, tselect
csrr a0, dcsr
csrr a0, hstatus
csrr a0, vsatp
frflags a0
fsflags a1
fsflags a0, a1
frrm a0
fsrm a1
fsrm a0, a1
frcsr a0
fscsr a1
fscsr a0, a1
fsflagsi 3
fsflagsi a0, 3
fsrmi 1
fsrmi a0, 1
csrrwi zero, fcsr, 0
unimp
# Privileged
mret
sret
wfi
sfence.vma
sfence.vma a0
sfence.vma a0, a1
sfence.vma zero, a1
# RV64F
flw fa0, 4(a1)
flw ft11, -4(sp)
fsw fa0, 4(a1)
fsw fs11, 2047(sp)
fmadd.s fa0, fa1, fa2, fa3
fmadd.s fa0, fa1, fa2, fa3, rne
fmsub.s ft0, ft1, ft2, ft3, rtz
fnmsub.s fs0, fs1, fs2, fs3, rdn
fnmadd.s fa0, fa1, fa2, fa3, rup
fadd.s fa0, fa1, fa2
fadd.s fa0, fa1, fa2, rmm
fsub.s fa0, fa1, fa2
fmul.s fa0, fa1, fa2, rtz
fdiv.s fa0, fa1, fa2
fsqrt.s fa0, fa1
fsqrt.s fa0, fa1, rne
fsgnj.s fa0, fa1, fa2
fsgnjn.s fa0, fa1, fa2
fsgnjx.s fa0, fa1, fa2
fmv.s fa0, fa1
fneg.s fa0, fa1
fabs.s fa0, fa1
fmin.s fa0, fa1, fa2
fmax.s fa0, fa1, fa2
fcvt.w.s a0, fa0
fcvt.w.s a0, fa0, rtz
fcvt.wu.s a0, fa0, rtz
fcvt.l.s a0, fa0
fcvt.lu.s a0, fa0, rdn
fcvt.s.w fa0, a0
fcvt.s.wu fa0, a0, rne
fcvt.s.l fa0, a0
fcvt.s.lu fa0, a0, rup
fmv.x.w a0, fa0
fmv.w.x fa0, a0
feq.s a0, fa0, fa1
flt.s a0, fa0, fa1
fle.s a0, fa0, fa1
fclass.s a0, fa0
# RV64D
fld fa0, 8(a1)
fld ft0, -8(sp)
fsd fa0, 8(a1)
fsd fs0, 2040(sp)
fmadd.d fa0, fa1, fa2, fa3
fmsub.d fa0, fa1, fa2, fa3, rmm
fnmsub.d fa0, fa1, fa2, fa3
fnmadd.d fa0, fa1, fa2, fa3, rtz
fadd.d fa0, fa1, fa2
fsub.d fa0, fa1, fa2, rne
fmul.d fa0, fa1, fa2
fdiv.d fa0, fa1, fa2, rup
fsqrt.d fa0, fa1
fsgnj.d fa0, fa1, fa2
fsgnjn.d fa0, fa1, fa2
fsgnjx.d fa0, fa1, fa2
fmv.d fa0, fa1
fneg.d fa0, fa1
fabs.d fa0, fa1
fmin.d fa0, fa1, fa2
fmax.d fa0, fa1, fa2
fcvt.s.d fa0, fa1
fcvt.s.d fa0, fa1, rtz
fcvt.d.s fa0, fa1
fcvt.w.d a0, fa0, rtz
fcvt.wu.d a0, fa0
fcvt.l.d a0, fa0, rtz
fcvt.lu.d a0, fa0
fcvt.d.w fa0, a0
fcvt.d.wu fa0, a0
fcvt.d.l fa0, a0
fcvt.d.l fa0, a0, rtz
fcvt.d.lu fa0, a0
fmv.x.d a0, fa0
fmv.d.x fa0, a0
feq.d a0, fa0, fa1
flt.d a0, fa0, fa1
fle.d a0, fa0, fa1
fclass.d a0, fa0
# RVC: every form, expanded by objdump to the base instruction
.option rvc
c.addi4spn a0, sp, 16
c.addi4spn s1, sp, 1020
c.fld fa0, 8(a1)
c.fld fs1, 248(a5)
c.lw a0, 4(a1)
c.lw s0, 124(a5)
c.ld a0, 8(a1)
c.ld a5, 248(s0)
c.fsd fa0, 8(a1)
c.sw a0, 4(a1)
c.sw a5, 124(s1)
c.sd a0, 8(a1)
c.sd s0, 248(a5)
c.nop
c.addi a0, 1
c.addi a0, -32
c.addi sp, 31
c.addiw a0, 5
c.addiw a0, 0
c.addiw t6, -1
c.li a0, 5
c.li a0, -32
c.li ra, 31
c.addi16sp sp, -512
c.addi16sp sp, 496
c.addi16sp sp, 16
c.lui a0, 1
c.lui t0, 0x1f
c.lui s1, 0xfffe0
c.lui a0, 0xfffff
c.srli a0, 1
c.srli s1, 63
c.srai a0, 31
c.srai a5, 32
c.andi a0, -1
c.andi s0, 31
c.sub a0, a1
c.xor s0, s1
c.or a4, a5
c.and a0, a1
c.subw a0, a1
c.addw s1, a3
3:
c.j 3b
c.j 4f
c.beqz a0, 3b
c.bnez s1, 4f
c.beqz a5, 4f
4:
c.slli a0, 1
c.slli t6, 63
c.fldsp fa0, 8(sp)
c.fldsp ft11, 504(sp)
c.lwsp a0, 4(sp)
c.lwsp ra, 252(sp)
c.ldsp ra, 8(sp)
c.ldsp s11, 504(sp)
c.jr a0
c.jr ra
c.mv a0, a1
c.mv t6, ra
c.ebreak
c.jalr a0
c.jalr ra
c.add a0, a1
c.add sp, t6
c.fsdsp fa0, 8(sp)
c.fsdsp fs11, 504(sp)
c.swsp a0, 4(sp)
c.swsp ra, 252(sp)
c.sdsp ra, 8(sp)
c.sdsp s11, 504(sp)
c.unimp
# RVC HINT encodings objdump keeps under their c. name
.insn 0x003d
.insn 0x4005
.insn 0x6009
.insn 0x0e82
.insn 0x1032
.insn 0x9076
.insn 0x801e
.insn 0x8601
.insn 0x8101
# Reserved 16-bit encodings: objdump .2byte, ours unknown
.insn 0x8000
.insn 0x9c41
.insn 0x6002
.insn 0x4002
.insn 0x2001
`;

test('matches objdump on an assembled corpus of every RV64GC instruction form', { skip: crossSkip }, (t) => {
  const result = withTempDir((dir) => {
    writeFileSync(join(dir, 'corpus.s'), CORPUS);
    execFileSync(GCC, ['-march=rv64gc', '-mabi=lp64d', '-Wa,-mpriv-spec=1.12', '-c', join(dir, 'corpus.s'), '-o', join(dir, 'corpus.o')]);
    return compareWithObjdump(['-d', join(dir, 'corpus.o')]);
  });
  const compressed = [...result.kinds].filter((k) => k.startsWith('2:')).length;
  t.diagnostic(
    `corpus: ${result.total - result.mismatches.length}/${result.total} match objdump, ${result.kinds.size} distinct (length, mnemonic) pairs, ${compressed} from 16-bit words`,
  );
  assert.ok(result.total >= 300, `corpus too small: ${result.total} instructions`);
  assert.ok(compressed >= 25, `too few compressed forms: ${compressed}`);
  assert.deepEqual(result.mismatches, []);
});

test('matches objdump on every 16-bit instruction word', { skip: crossSkip }, (t) => {
  const words: number[] = [];
  for (let w = 0; w < 0x10000; w++) if ((w & 3) !== 3) words.push(w);
  const result = compareRawWords(words, 2);
  t.diagnostic(`16-bit: ${result.total - result.mismatches.length}/${result.total} match objdump`);
  assert.equal(result.total, 49152);
  assert.deepEqual(result.mismatches.slice(0, 20), []);
});

test('matches objdump on seeded random and edge-value 32-bit words of every major opcode', { skip: crossSkip }, (t) => {
  const opcodes = [0x37, 0x17, 0x6f, 0x67, 0x63, 0x03, 0x23, 0x13, 0x1b, 0x33, 0x3b, 0x0f, 0x73, 0x2f, 0x07, 0x27, 0x43, 0x47, 0x4b, 0x4f, 0x53];
  const next = rng(0x5eed);
  const words: number[] = [];
  for (let i = 0; i < 30000; i++) {
    const r = next();
    let w = ((r & ~0x7f) | opcodes[i % opcodes.length]!) >>> 0;
    // Random fields rarely hit the exact privileged encodings; steer a share of SYSTEM words there.
    if ((w & 0x707f) === 0x73 && i % 2 === 0) w = ((w & 0xfe007fff) | 0x12000000) >>> 0; // sfence.vma rd/rs fields
    words.push(w);
  }
  words.push(0x00000073, 0x00100073, 0x00200073, 0x10200073, 0x30200073, 0x10500073, 0x7b200073, 0xc0001073);
  // Aliases hang on exact field values (imm 0, 1, -1, 255; rd/rs zero or ra), which random words rarely hit.
  const regs = [0, 1, 2, 5, 10];
  const imms = [0, 1, -1, 2, 255, -2048, 0x7ff];
  for (const op of [0x13, 0x1b, 0x33, 0x3b, 0x67, 0x03, 0x23, 0x63, 0x0f, 0x73, 0x53, 0x2f]) {
    for (let f3 = 0; f3 < 8; f3++) {
      for (const rd of regs) for (const rs of regs) for (const imm of imms) words.push(((imm << 20) | (rs << 15) | (f3 << 12) | (rd << 7) | op) >>> 0);
    }
  }
  for (const op of [0x33, 0x3b, 0x53]) {
    for (let f7 = 0; f7 < 128; f7++) {
      for (let f3 = 0; f3 < 8; f3++) {
        for (const a of [0, 1, 2]) for (const b of [0, 1, 2]) words.push(((f7 << 25) | (b << 20) | (a << 15) | (f3 << 12) | (10 << 7) | op) >>> 0);
      }
    }
  }
  const result = compareRawWords(words, 4);
  t.diagnostic(
    `32-bit random + edge values: ${result.total - result.mismatches.length - result.accepted}/${result.total} match objdump, ${result.accepted} documented fcvt.d.* deviations`,
  );
  assert.equal(result.total, words.length);
  assert.deepEqual(result.mismatches.slice(0, 20), []);
});

test('prints the objdump forms the trace relies on, with absolute targets', () => {
  const pc = 0x80000000n;
  const cases: Array<[number, string, 2 | 4]> = [
    [0x00150513, 'addi a0, a0, 1', 4],
    [0x00813083, 'ld ra, 8(sp)', 4],
    [0x00050863, 'beqz a0, 0x80000010', 4],
    [0x00b50863, 'beq a0, a1, 0x80000010', 4],
    [0x30059073, 'csrw mstatus, a1', 4],
    [0x30051573, 'csrrw a0, mstatus, a0', 4],
    [0x30002573, 'csrr a0, mstatus', 4],
    [0x00000013, 'nop', 4],
    [0x00008067, 'ret', 4],
    [0x0000006f, 'j 0x80000000', 4],
    [0xfff54513, 'not a0, a0', 4],
    [0x40a00533, 'neg a0, a0', 4],
    [0x0005051b, 'sext.w a0, a0', 4],
    [0x22b58553, 'fmv.d fa0, fa1', 4],
    [0xc0051553, 'fcvt.w.s a0, fa0, rtz', 4],
    [0x0c05252f, 'amoswap.w.aq a0, zero, (a0)', 4],
    [0x8082, 'ret', 2],
    [0x0505, 'addi a0, a0, 1', 2],
    [0x6522, 'ld a0, 8(sp)', 2],
    [0xa001, 'j 0x80000000', 2],
    [0x0000, 'unimp', 2],
    [0xffffffff, 'unknown 0xffffffff', 4],
    [0x0000000b, 'unknown 0x0000000b', 4],
    [0x8000, 'unknown 0x8000', 2],
  ];
  for (const [insn, text, length] of cases) {
    assert.deepEqual(disassemble(insn, pc), { text, length }, `0x${insn.toString(16)}`);
  }
  // Targets wrap like the 64-bit pc does.
  assert.equal(disassemble(0xff1ff06f, 0n).text, 'j 0xfffffffffffffff0');
  // A compressed word may arrive with the next instruction's bits above it.
  assert.deepEqual(disassemble(0x12348082, pc), { text: 'ret', length: 2 });
});

test('never throws on 100k random 32-bit and 100k random 16-bit words', () => {
  const next = rng(0xc0ffee);
  for (let i = 0; i < 100_000; i++) {
    const w32 = (next() | 3) >>> 0;
    const d32 = disassemble(w32, BigInt(next()) << 32n);
    assert.equal(d32.length, 4);
    assert.ok(d32.text.length > 0 && !d32.text.includes('undefined'), `0x${w32.toString(16)}: ${d32.text}`);
    let w16 = next() & 0xffff;
    if ((w16 & 3) === 3) w16 ^= 1;
    const d16 = disassemble(w16 | (next() & 0xffff0000), 0xfffffffffffffffen);
    assert.equal(d16.length, 2);
    assert.ok(d16.text.length > 0 && !d16.text.includes('undefined'), `0x${w16.toString(16)}: ${d16.text}`);
  }
});
