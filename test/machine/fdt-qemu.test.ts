import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cachedDefaultImage } from '../../src/image/build.js';
import { GUEST_PROMPT } from '../../src/image/init-script.js';
import { qemuReferenceCommand } from '../../src/image/qemu-reference.js';
import { buildVirtFdt } from '../../src/machine/fdt/virt.js';
import { describeMachine } from '../../src/machine/machine-desc.js';
import { MEMMAP } from '../../src/machine/memmap.js';

// Our device tree, handed to real OpenSBI + Debian Linux under QEMU (whose "virt" machine has
// the same memory map): Linux must reach the shell and see both NUMA nodes we describe.
test('QEMU + OpenSBI + Linux boot with our FDT and see 2 NUMA nodes', { timeout: 120_000 }, async (t) => {
  const img = cachedDefaultImage();
  if (!img) return t.skip('no default image cached yet (run `hydravm image build` or the image build test)');
  if (spawnSync('qemu-system-riscv64', ['--version']).status !== 0) return t.skip('qemu-system-riscv64 is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'hvm-fdtq-'));
  try {
    const desc = describeMachine({ harts: 2, nodes: 2, ramBase: MEMMAP.ram.base, ramSize: 256 * 2 ** 20, bootargs: 'console=ttyS0 quiet', boot: 'firmware' });
    writeFileSync(join(dir, 'virt.dtb'), buildVirtFdt(desc));
    const argv = [...qemuReferenceCommand({ kernel: img.kernel, initrd: img.initrd, smp: 2, memoryMiB: 256 }), '-dtb', join(dir, 'virt.dtb')];
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      let text = '';
      let typed = false;
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`no poweroff within 100 s; console so far:\n${text.slice(-2000)}`));
      }, 100_000);
      p.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        if (!typed && text.includes(GUEST_PROMPT)) {
          typed = true;
          p.stdin.write('echo N=$(nproc) ONLINE=$(cat /sys/devices/system/node/online) C0=$(cat /sys/devices/system/node/node0/cpulist) C1=$(cat /sys/devices/system/node/node1/cpulist); poweroff -f\n');
        }
      });
      p.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(text);
        else reject(new Error(`qemu exited with ${code}:\n${text.slice(-2000)}`));
      });
    });
    // one CPU per node; which logical CPU is which hart depends on OpenSBI's boot-hart lottery
    assert.match(out, /N=2 ONLINE=0-1 (C0=0 C1=1|C0=1 C1=0)\r?\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
