import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { GuestSession, PROMPT } from './session.js';
import { OPENSBI_FW_JUMP } from '../../src/image/qemu-reference.js';

const BOOT_TIMEOUT = 240_000;

for (const smp of [1, 4]) {
  test(`Debian Linux boots to a shell with --smp ${smp}, runs commands and powers off`, { timeout: BOOT_TIMEOUT + 60_000 }, async () => {
    const s = new GuestSession(['run', '--smp', String(smp), '-m', '512M']);
    try {
      await s.waitFor(PROMPT, BOOT_TIMEOUT);
      assert.equal(await s.run('nproc'), String(smp));
      const cpuinfo = await s.run('cat /proc/cpuinfo');
      assert.equal((cpuinfo.match(/^processor\s*:/gm) ?? []).length, smp, cpuinfo);
      assert.match(cpuinfo, /isa\s*:\s*rv64imafdc/);
      // Sstc: the kernel programs stimecmp itself instead of calling SBI set_timer
      assert.match(cpuinfo, /isa\s*:.*_sstc/);
      assert.match(cpuinfo, /mmu\s*:\s*sv(39|48)/);
      assert.match(await s.run('uname -r'), /^\d+\.\d+\.\d+.*riscv64$/);
      // a small computation in the guest: sum of squares 1..200 with shell arithmetic
      assert.equal(await s.run('i=1; t=0; while [ $i -le 200 ]; do t=$((t+i*i)); i=$((i+1)); done; echo $t'), '2686700');
      assert.match(await s.run('cat /proc/meminfo | head -1'), /MemTotal:\s+\d+ kB/);
      // /chosen/rng-seed (as QEMU virt gives): the crng is ready during early setup, before the
      // command line is printed, not seconds later after timer-jitter sampling that spins both harts
      const rng = await s.run('dmesg | grep -n -E "crng init done|Kernel command line" | cut -d: -f1 | tr "\\n" " "');
      const [crngLine, cmdLine] = rng.trim().split(' ').map(Number);
      assert.ok(crngLine !== undefined && cmdLine !== undefined && crngLine < cmdLine, `crng init done must precede the command line in dmesg: ${rng}`);
      s.send('poweroff -f\n');
      const code = await s.exited;
      assert.equal(code, 0, s.transcript.slice(-2000));
      assert.match(s.transcript, /reboot: Power down/);
    } finally {
      s.kill();
    }
  });
}

test('Debian Linux boots through Debian OpenSBI fw_jump.bin (--firmware) and powers off', { timeout: BOOT_TIMEOUT + 60_000 }, async (t) => {
  const fw = OPENSBI_FW_JUMP;
  if (!existsSync(fw)) {
    t.skip(`${fw} is missing (apt-get install opensbi)`);
    return;
  }
  const s = new GuestSession(['run', '--firmware', fw, '--append', 'console=ttyS0 earlycon=uart8250,mmio,0x10000000']);
  try {
    await s.waitFor('OpenSBI', 60_000);
    await s.waitFor(PROMPT, BOOT_TIMEOUT);
    assert.match(s.transcript, /Domain0 Next Mode\s*: S-mode/);
    assert.equal(await s.run('nproc'), '1');
    s.send('poweroff -f\n');
    assert.equal(await s.exited, 0, s.transcript.slice(-2000));
  } finally {
    s.kill();
  }
});
