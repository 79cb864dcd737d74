/**
 * ELF64 little-endian RISC-V executables: PT_LOAD segments (loaded at their
 * physical addresses), the entry point and the symbol table (for HTIF's
 * `tohost` / `fromhost`).
 */
import { readFileSync, existsSync } from 'node:fs';

export class ElfFileMissingError extends Error {
  constructor(path: string) {
    super(`ELF file ${path} does not exist; check the --kernel path`);
    this.name = 'ElfFileMissingError';
  }
}

export class NotElfError extends Error {
  constructor(source: string, why: string) {
    super(`${source} is not an ELF executable (${why}); pass a RISC-V ELF built for bare metal`);
    this.name = 'NotElfError';
  }
}

export class ElfArchError extends Error {
  constructor(source: string, what: string, fix = 'rebuild it with riscv64-linux-gnu-gcc') {
    super(`${source} is an ELF for ${what}, expected RISC-V (64-bit, little-endian); ${fix}`);
    this.name = 'ElfArchError';
  }
}

export class ElfDoesNotFitError extends Error {
  constructor(source: string, paddr: number, size: number, ramBase: number, ramSize: number) {
    super(
      `${source}: segment at 0x${paddr.toString(16)}+0x${size.toString(16)} does not fit in RAM ` +
        `[0x${ramBase.toString(16)}, 0x${(ramBase + ramSize).toString(16)}); raise --memory or relink the program`,
    );
    this.name = 'ElfDoesNotFitError';
  }
}

export interface ElfSegment {
  readonly paddr: number;
  readonly vaddr: number;
  /** file bytes; memSize - data.length bytes of zeros follow */
  readonly data: Uint8Array;
  readonly memSize: number;
}

export interface ElfImage {
  readonly source: string;
  readonly entry: number;
  readonly segments: readonly ElfSegment[];
  /** symbol name -> value (functions and objects) */
  readonly symbols: ReadonlyMap<string, number>;
}

const MACHINES: Record<number, string> = { 3: 'x86 (i386)', 62: 'x86-64', 40: 'ARM', 183: 'AArch64', 8: 'MIPS', 21: 'PowerPC64' };
const EM_RISCV = 243;
const PT_LOAD = 1;
const SHT_SYMTAB = 2;

function num(v: bigint, source: string, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new NotElfError(source, `${what} 0x${v.toString(16)} is out of range`);
  return Number(v);
}

export function parseElf(bytes: Uint8Array, source = '<buffer>'): ElfImage {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new NotElfError(source, 'no ELF magic');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cls = bytes[4];
  const data = bytes[5];
  const machine = data === 1 ? dv.getUint16(18, true) : dv.getUint16(18, false);
  if (machine !== EM_RISCV) throw new ElfArchError(source, MACHINES[machine] ?? `machine ${machine}`);
  if (cls !== 2) throw new ElfArchError(source, '32-bit RISC-V (rv32)', 'HydraVM runs rv64 only; rebuild it with -march=rv64gc -mabi=lp64d');
  if (data !== 1) throw new ElfArchError(source, 'big-endian RISC-V');
  const u16 = (o: number): number => dv.getUint16(o, true);
  const u32 = (o: number): number => dv.getUint32(o, true);
  const u64 = (o: number, what: string): number => num(dv.getBigUint64(o, true), source, what);
  const entry = u64(24, 'entry');
  const phoff = u64(32, 'phoff');
  const shoff = u64(40, 'shoff');
  const phentsize = u16(54);
  const phnum = u16(56);
  const shentsize = u16(58);
  const shnum = u16(60);
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (o + 56 > bytes.length) throw new NotElfError(source, 'program header outside the file');
    if (u32(o) !== PT_LOAD) continue;
    const offset = u64(o + 8, 'p_offset');
    const vaddr = u64(o + 16, 'p_vaddr');
    const paddr = u64(o + 24, 'p_paddr');
    const filesz = u64(o + 32, 'p_filesz');
    const memsz = u64(o + 40, 'p_memsz');
    if (offset + filesz > bytes.length) throw new NotElfError(source, 'segment data outside the file');
    if (memsz === 0) continue;
    segments.push({ paddr, vaddr, data: bytes.subarray(offset, offset + filesz), memSize: memsz });
  }
  const symbols = new Map<string, number>();
  for (let i = 0; i < shnum && shoff > 0; i++) {
    const o = shoff + i * shentsize;
    if (o + 64 > bytes.length) break;
    if (u32(o + 4) !== SHT_SYMTAB) continue;
    const symOff = u64(o + 24, 'sh_offset');
    const symSize = u64(o + 32, 'sh_size');
    const link = u32(o + 40);
    const entsize = u64(o + 56, 'sh_entsize') || 24;
    const strHdr = shoff + link * shentsize;
    const strOff = u64(strHdr + 24, 'sh_offset');
    for (let s = symOff; s + entsize <= symOff + symSize && s + 24 <= bytes.length; s += entsize) {
      const nameOff = u32(s);
      if (nameOff === 0) continue;
      let end = strOff + nameOff;
      while (end < bytes.length && bytes[end] !== 0) end++;
      const name = new TextDecoder().decode(bytes.subarray(strOff + nameOff, end));
      if (!symbols.has(name)) symbols.set(name, num(dv.getBigUint64(s + 8, true), source, 'symbol value'));
    }
  }
  return { source, entry, segments, symbols };
}

export function readElfFile(path: string): ElfImage {
  if (!existsSync(path)) throw new ElfFileMissingError(path);
  return parseElf(new Uint8Array(readFileSync(path)), path);
}

/** Throws ElfDoesNotFitError if any segment lies outside [ramBase, ramBase + ramSize). */
export function checkElfFits(img: ElfImage, ramBase: number, ramSize: number): void {
  for (const s of img.segments) {
    if (s.paddr < ramBase || s.paddr + s.memSize > ramBase + ramSize) {
      throw new ElfDoesNotFitError(img.source, s.paddr, s.memSize, ramBase, ramSize);
    }
  }
}

/** Copy every segment into guest RAM at its physical address (zero-filling the bss part). */
export function loadElf(
  img: ElfImage,
  mem: { readonly ramBase: number; readonly ramSize: number; writeSync(gpa: number, data: Uint8Array): void },
): void {
  checkElfFits(img, mem.ramBase, mem.ramSize);
  for (const s of img.segments) {
    mem.writeSync(s.paddr, s.data);
    if (s.memSize > s.data.length) mem.writeSync(s.paddr + s.data.length, new Uint8Array(s.memSize - s.data.length));
  }
}
