/**
 * Opt-in smoke test (HYDRAVM_CORE_LINUX=1): Debian's OpenSBI fw_jump and the
 * Debian riscv64 kernel with the busybox initramfs from `hydravm image build`
 * boot on the bare core (no machine layer: the harness plays UART, CLINT and
 * sifive,test) until the guest's init prints its banner. It takes 15-60 s,
 * so it does not run by default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { programsDir, runMachine } from './harness.js';

const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const IMAGES = join(homedir(), '.cache/hydravm/images');
/** Debian's fw_jump passes this FDT address to the kernel, whatever a1 says. */
const FDT_ADDR = 0x8220_0000;
const INITRD_ADDR = 0x8800_0000;

function findImage(): { kernel: string; initrd: string } | null {
  if (!existsSync(IMAGES)) return null;
  for (const d of readdirSync(IMAGES)) {
    const kernel = join(IMAGES, d, 'Image');
    const initrd = join(IMAGES, d, 'initramfs.cpio.gz');
    if (existsSync(kernel) && existsSync(initrd)) return { kernel, initrd };
  }
  return null;
}

test('Debian Linux boots through OpenSBI to the busybox init banner', { timeout: 300_000 }, (t) => {
  if (process.env.HYDRAVM_CORE_LINUX !== '1') return t.skip('set HYDRAVM_CORE_LINUX=1 to run (takes 15-60 s)');
  const img = findImage();
  if (!img || !existsSync(FW_JUMP)) return t.skip('needs `hydravm image build` output and the opensbi package');
  const initrd = new Uint8Array(readFileSync(img.initrd));
  const dts = readFileSync(resolve(programsDir, 'opensbi-virt.dts'), 'utf8')
    .replace('reg = <0x0 0x80000000 0x0 0x8000000>;', 'reg = <0x0 0x80000000 0x0 0x10000000>;')
    .replace(
      'stdout-path = "/soc/serial@10000000";',
      `stdout-path = "/soc/serial@10000000";
    linux,initrd-start = <0x0 0x${INITRD_ADDR.toString(16)}>;
    linux,initrd-end = <0x0 0x${(INITRD_ADDR + initrd.length).toString(16)}>;
    bootargs = "earlycon=uart8250,mmio,0x10000000 console=ttyS0 no4lvl";`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'hydravm-linux-'));
  try {
    const dtsPath = join(dir, 'linux.dts');
    const dtbPath = join(dir, 'linux.dtb');
    spawnSync('sh', ['-c', `cat > ${dtsPath}`], { input: dts });
    const r = spawnSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', dtbPath, dtsPath]);
    assert.equal(r.status, 0, `dtc failed: ${r.stderr}`);
    const t0 = performance.now();
    const res = runMachine(
      {
        elfs: [FW_JUMP],
        blobs: [
          { gpa: 0x8020_0000, data: new Uint8Array(readFileSync(img.kernel)) },
          { gpa: FDT_ADDR, data: new Uint8Array(readFileSync(dtbPath)) },
          { gpa: INITRD_ADDR, data: initrd },
        ],
        a0: 0n,
        a1: BigInt(FDT_ADDR),
      },
      { ramSize: 256 << 20, maxInstructions: 20_000_000_000, stopWhen: (uart) => uart.endsWith('\n') && /HydraVM guest ready: Linux[^\n]*\n$/.test(uart.slice(-200)) },
    );
    const seconds = (performance.now() - t0) / 1000;
    t.diagnostic(`banner after ${seconds.toFixed(1)} s, ${res.instret} instructions`);
    if (res.jit) t.diagnostic(`jit: ${JSON.stringify(res.jit)}`);
    assert.match(res.uart, /Run \/init as init process/);
    assert.match(res.uart, /HydraVM guest ready: Linux/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
