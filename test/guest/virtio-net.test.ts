/**
 * virtio-net between two HydraVM guests over the socket backend (QEMU's
 * `-netdev socket` framing on a loopback TCP connection: one VM listens,
 * the other connects). The guests get addresses on a private 10.0.2.0/24
 * link that exists only inside that TCP connection; nothing reaches the
 * host's network. They resolve each other with ARP and move 256 KiB of
 * random data each way with busybox nc, checked by md5.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { GuestSession, PROMPT } from './session.js';

const BOOT_TIMEOUT = 420_000;
const MAC_A = '52:54:00:12:34:01';
const MAC_B = '52:54:00:12:34:02';
const IP_A = '10.0.2.1';
const IP_B = '10.0.2.2';
const KIB = 256;

/** A loopback port that was free a moment ago. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Listener on `rx`, sender on `tx`; returns [sent md5, received md5, received bytes]. */
async function transfer(tx: GuestSession, rx: GuestSession, rxIp: string, port: number): Promise<[string, string, string]> {
  await rx.run(`nc -l -p ${port} > /tmp/rx &`);
  const sent = await tx.run(`dd if=/dev/urandom of=/tmp/tx bs=1024 count=${KIB} 2>/dev/null; md5sum /tmp/tx | cut -d' ' -f1; nc ${rxIp} ${port} < /tmp/tx; echo nc=$?`, 180_000);
  const [sum, status] = sent.split('\n').map((l) => l.trim());
  assert.equal(status, 'nc=0', sent);
  // the shell also reports the listener's "[1]+ Done" line, before or after ours
  const got = (await rx.run('wait; md5sum /tmp/rx | cut -d" " -f1; wc -c < /tmp/rx', 120_000)).split('\n').map((l) => l.trim());
  return [sum!, got.find((l) => /^[0-9a-f]{32}$/.test(l)) ?? got.join('|'), got.find((l) => /^\d+$/.test(l)) ?? got.join('|')];
}

test('two guests exchange data over virtio-net with the socket backend (ARP, TCP both ways, ping)', { timeout: BOOT_TIMEOUT + 600_000 }, async (t) => {
  const port = await freePort();
  const a = new GuestSession(['run', '-m', '256M', '--netdev', `socket,id=n0,listen=127.0.0.1:${port},mac=${MAC_A}`]);
  const b = new GuestSession(['run', '-m', '256M', '--netdev', `socket,id=n0,connect=127.0.0.1:${port},mac=${MAC_B}`]);
  try {
    await Promise.all([a.waitFor(PROMPT, BOOT_TIMEOUT), b.waitFor(PROMPT, BOOT_TIMEOUT)]);
    assert.equal(await a.run('cat /sys/class/net/eth0/address'), MAC_A);
    assert.equal(await b.run('cat /sys/class/net/eth0/address'), MAC_B);
    assert.equal(await a.run(`ip link set eth0 up && ip addr add ${IP_A}/24 dev eth0 && echo up`), 'up');
    assert.equal(await b.run(`ip link set eth0 up && ip addr add ${IP_B}/24 dev eth0 && echo up`), 'up');

    const [sentAB, gotAB, lenAB] = await transfer(b, a, IP_A, 5000);
    assert.equal(lenAB, String(KIB * 1024));
    assert.equal(gotAB, sentAB, 'B -> A payload md5');
    // A learned B's MAC from the exchange
    assert.match(await a.run(`ip neigh show ${IP_B}`), new RegExp(`lladdr ${MAC_B}`));

    const [sentBA, gotBA, lenBA] = await transfer(a, b, IP_B, 5001);
    assert.equal(lenBA, String(KIB * 1024));
    assert.equal(gotBA, sentBA, 'A -> B payload md5');

    // busybox ping reads CLOCK_MONOTONIC through the vDSO (rdtime in U-mode), which
    // traps until the built-in SBI enables scounteren.TM (see docs/virtio.md).
    await t.test('ping A from B', async () => {
      const out = await b.run(`ping -c 3 -W 5 ${IP_A}`, 60_000);
      assert.match(out, /3 packets transmitted, 3 packets received/, out);
    });

    a.send('poweroff -f\n');
    b.send('poweroff -f\n');
    assert.equal(await a.exited, 0, a.transcript.slice(-1500));
    assert.equal(await b.exited, 0, b.transcript.slice(-1500));
  } finally {
    a.kill();
    b.kill();
  }
});
