/**
 * One cluster node with a real core, in its own OS process, for bench/dsm's
 * hart-timed remote faults. It has the node runtime's pieces: WasmCore, the
 * ThreadedHartRunner (one hart thread), DsmGuestMemory (the DSM engine over
 * the core's page-state table) and a MeshRouter over unix sockets or TCP.
 * Driven like remote-node.ts: JSON commands on stdin, one JSON line back.
 *
 *   node dist/test/dsm/testing/hart-node.js '<RemoteNodeConfig JSON>'
 *
 * Commands:
 *   fill {pages}            writes a pattern into each page: this node owns them
 *   echoServer              starts a plain node:net echo server (no router, no
 *                           framing, unencrypted) next to the node; returns its address
 *   faultLoop {pages}        the same loads timed in one guest loop (no exit between
 *                           them, the hart stays on its own thread): {fault: us[]}
 *   faults {pages, echo, echoBytes}
 *                           the hart loads one word of each page in turn; the
 *                           guest times each load with the time CSR, from the
 *                           access to its retirement. Between two loads the
 *                           main thread takes one raw round trip of echoBytes
 *                           to the echo server at `echo`, so both series see
 *                           the same conditions. Returns both series in us.
 *   trace {on}              turns the hop trace (src/transport/hop-trace.ts) on or off
 *   hops                    this process's hop marks since the last call
 *   stats                   the DSM engine's statistics
 *   places                  pages by place: window, tier, remote (CorePageTable.placeStats)
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { enableHopTrace, hopTrace } from '../../../src/transport/hop-trace.js';
import { WasmCore } from '../../../src/node/wasm-core.js';
import { GuestClock } from '../../../src/node/clock.js';
import { DsmGuestMemory } from '../../../src/node/dsm-memory.js';
import { ThreadedHartRunner } from '../../../src/node/threaded-runner.js';
import { PRODUCTION_FAULT_DEADLINE_MS } from '../../../src/dsm/fault-deadline.js';
import { ECALL, X, addi, j, load, store, words } from '../../core/encode.js';
import { bne } from '../../node/fill-program.js';
import { homeOfPage, nodeRouter, RAM_BASE, runAsScript, serveCommands, type RemoteNodeConfig } from './node-process.js';

const TICKS_PER_US = 10;
const T3 = 28;
const CSR_TIME = 0xc01;
const CSR_MCOUNTEREN = 0x306;
const csrr = (rd: number, csr: number): number => ((csr << 20) | (2 << 12) | (rd << 7) | 0x73) >>> 0;
const sub = (rd: number, rs1: number, rs2: number): number => ((0x20 << 25) | (rs2 << 20) | (rs1 << 15) | (rd << 7) | 0x33) >>> 0;

/**
 * The guest: t0 holds the address to load (the host sets it at each ECALL).
 *   loop: csrr t1, time; ld t2, 0(t0); csrr t3, time; sub t3, t3, t1; ecall; j loop
 */
const PROGRAM = words(csrr(X.t1, CSR_TIME), load('d', 7, X.t0, 0), csrr(T3, CSR_TIME), sub(T3, T3, X.t1), ECALL, j(-20));
/**
 * The same timed load over a table of addresses without leaving the guest
 * between them (so the hart stays on its own thread): a0 = address table,
 * a1 = where the times go, a2 = count; one ECALL at the end.
 *   loop: ld t0, 0(a0); csrr t1, time; ld t2, 0(t0); csrr t3, time; sub t3, t3, t1; sd t3, 0(a1)
 *         a0 += 8; a1 += 8; a2--; bnez a2, loop; ecall
 */
const LOOP_AT = 256;
const LOOP_PROGRAM = words(load('d', X.t0, X.a0, 0), csrr(X.t1, CSR_TIME), load('d', 7, X.t0, 0), csrr(T3, CSR_TIME), sub(T3, T3, X.t1),
  store('d', T3, X.a1, 0), addi(X.a0, X.a0, 8), addi(X.a1, X.a1, 8), addi(12, 12, -1), bne(12, X.zero, -36), ECALL, j(0));

/** A plain echo client: one outstanding round trip at a time. */
class EchoClient {
  private want = 0;
  private done: (() => void) | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.want -= c.length;
      if (this.want <= 0 && this.done) {
        const d = this.done;
        this.done = null;
        d();
      }
    });
  }

  static connect(address: string): Promise<EchoClient> {
    const tcp = /^127\.0\.0\.1:(\d+)$/.exec(address);
    const s = tcp ? createConnection({ host: '127.0.0.1', port: Number(tcp[1]) }) : createConnection({ path: address });
    return new Promise((resolve, reject) => {
      s.once('error', reject);
      s.once('connect', () => {
        if (tcp) s.setNoDelay(true);
        resolve(new EchoClient(s));
      });
    });
  }

  roundTrip(payload: Uint8Array): Promise<number> {
    const t0 = performance.now();
    this.want = payload.length;
    return new Promise((resolve) => {
      this.done = () => resolve((performance.now() - t0) * 1000);
      this.socket.write(payload);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function runHartNode(cfg: RemoteNodeConfig): Promise<void> {
  const log = (line: string) => process.stderr.write(`hart node ${cfg.id}: ${line}\n`);
  const router = nodeRouter(cfg, log);
  const clock = new GuestClock();
  const core = WasmCore.create({ ramBase: RAM_BASE, ramSize: cfg.pages * 4096, harts: 1, time: () => clock.ticks() });
  clock.setFloor((t) => core.publishTime(t));
  // the fault deadline a cluster node runs with (src/compose/cluster-node.ts): its bookkeeping is on every fault's path
  const memory = new DsmGuestMemory(core, router, (p) => homeOfPage(p, cfg.pages, cfg.nodeCount), cfg.maxFrames ?? null,
    { faultTimeoutMs: PRODUCTION_FAULT_DEADLINE_MS }, undefined,
    cfg.windowFrames !== undefined ? { windowFrames: cfg.windowFrames } : {});
  let onEcall: (() => Promise<void>) | null = null;
  // as a node's VM does: the hart thread serves its own tier faults (tierOnMain: the main thread does, for comparison)
  const tierShare = (m: DsmGuestMemory) => {
    const tier = cfg.tierOnMain ? undefined : m.table.hartTier();
    return tier ? { tier } : {};
  };
  const fatal = (e: unknown) => {
    log(`fatal: ${(e as Error)?.stack ?? e}`);
    process.exit(1);
  };
  const runner = new ThreadedHartRunner(core, clock, {
    sbiCall: () => (onEcall ? onEcall() : fatal(new Error('ECALL with no load loop running'))),
    mmio: (_h, exit) => fatal(new Error(`MMIO exit at 0x${exit.addr.toString(16)}`)),
    dsmFault: (_h, exit) => {
      const r = memory.resolveFault(exit);
      const check = (ok: boolean) => {
        if (!ok) throw new Error(`DSM fault outside guest RAM at 0x${exit.addr.toString(16)}`);
      };
      if (typeof r !== 'boolean') return r.then(check);
      check(r);
    },
    halt: () => undefined,
    fatal,
  }, { harts: 1, ...(tierShare(memory)) });
  await router.start(20_000);
  runner.start();

  const perNode = Math.ceil(cfg.pages / cfg.nodeCount);
  const codeGpa = RAM_BASE + cfg.id * perNode * 4096; // the first page homed here
  await memory.write(codeGpa, PROGRAM);
  await memory.write(codeGpa + LOOP_AT, LOOP_PROGRAM);
  let echoServer: Server | null = null;
  const echoClients = new Map<string, EchoClient>();

  async function echoClient(address: string): Promise<EchoClient> {
    let client = echoClients.get(address);
    if (!client) {
      client = await EchoClient.connect(address);
      echoClients.set(address, client);
    }
    return client;
  }

  async function faults(pages: number[], echo: string, echoBytes: number): Promise<{ fault: number[]; echo: number[] }> {
    const c = echoBytes > 0 ? await echoClient(echo) : null;
    const payload = new Uint8Array(echoBytes).fill(0x5a);
    const fault: number[] = [];
    const rtt: number[] = [];
    const gpa = (i: number) => BigInt(RAM_BASE + pages[i]! * 4096 + 8);
    return new Promise((resolve) => {
      onEcall = async () => {
        fault.push(Number(core.getX(0, T3)) / TICKS_PER_US);
        if (c) {
          // the fault's trailing work (its CONFIRM, frame zeroing) settles first, off the echo
          await new Promise((r) => setTimeout(r, 1));
          rtt.push(await c.roundTrip(payload));
        }
        if (fault.length < pages.length) {
          core.setX(0, X.t0, gpa(fault.length));
          return;
        }
        onEcall = null;
        runner.setState(0, 'stopped');
        resolve({ fault, echo: rtt });
      };
      core.resetHart(0, BigInt(codeGpa), 1);
      core.setSbiEnabled(0, true);
      core.writeCsr(0, CSR_MCOUNTEREN, 7n);
      core.setX(0, X.t0, gpa(0));
      runner.setState(0, 'running');
    });
  }

  /** Times a load of each page from one guest loop: tables in the pages after the code page (homed here). */
  async function faultLoop(pages: number[]): Promise<{ fault: number[] }> {
    const table = codeGpa + 4096;
    const out = table + Math.ceil((pages.length * 8) / 4096) * 4096;
    const addrs = new Uint8Array(pages.length * 8);
    pages.forEach((p, i) => new DataView(addrs.buffer).setBigUint64(i * 8, BigInt(RAM_BASE + p * 4096 + 8), true));
    await memory.write(table, addrs);
    await memory.write(out, new Uint8Array(pages.length * 8));
    await new Promise<void>((resolve) => {
      onEcall = async () => {
        onEcall = null;
        runner.setState(0, 'stopped');
        resolve();
      };
      core.resetHart(0, BigInt(codeGpa + LOOP_AT), 1);
      core.setSbiEnabled(0, true);
      core.writeCsr(0, CSR_MCOUNTEREN, 7n);
      core.setX(0, X.a0, BigInt(table));
      core.setX(0, X.a1, BigInt(out));
      core.setX(0, 12, BigInt(pages.length));
      runner.setState(0, 'running');
    });
    const times = await memory.read(out, pages.length * 8);
    const dv = new DataView(times.buffer, times.byteOffset, times.byteLength);
    return { fault: pages.map((_, i) => Number(dv.getBigUint64(i * 8, true)) / TICKS_PER_US) };
  }

  async function handle(c: { cmd: string; [k: string]: unknown }): Promise<unknown> {
    switch (c.cmd) {
      case 'places':
        return memory.table.placeStats();
      case 'fill': {
        const page = new Uint8Array(4096);
        for (const p of c.pages as number[]) {
          new DataView(page.buffer).setUint32(8, p ^ 0x5a5a5a5a, true);
          await memory.write(RAM_BASE + p * 4096, page);
        }
        return { ok: true };
      }
      case 'echoServer': {
        const tcp = cfg.transport === 'tcp';
        const server = createServer((s) => {
          if (tcp) s.setNoDelay(true);
          s.on('data', (chunk) => s.write(chunk));
        });
        const address = await new Promise<string>((resolve) => {
          if (tcp) server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as { port: number }).port}`));
          else server.listen(`${cfg.addresses[cfg.id]}.echo`, () => resolve(`${cfg.addresses[cfg.id]}.echo`));
        });
        echoServer = server;
        return { address };
      }
      case 'faults': {
        const r = await faults(c.pages as number[], c.echo as string, c.echoBytes as number);
        const expect = (c.pages as number[]).length;
        if (r.fault.length !== expect) throw new Error(`${r.fault.length} samples for ${expect} pages`);
        return r;
      }
      case 'faultLoop':
        return faultLoop(c.pages as number[]);
      case 'trace':
        enableHopTrace(c.on as boolean);
        runner.traceHops(c.on as boolean);
        return { ok: true };
      case 'hops':
        return { marks: hopTrace ? hopTrace.take() : [] };
      case 'stats':
        return memory.dsm.stats();
      case 'cpu': {
        const u = process.cpuUsage();
        return { us: u.user + u.system };
      }
      case 'echoes': {
        const client = await echoClient(c.echo as string);
        const payload = new Uint8Array(c.echoBytes as number);
        const us: number[] = [];
        for (let i = 0; i < (c.count as number); i++) us.push(await client.roundTrip(payload));
        return { us };
      }
      case 'exit':
        return { bye: true };
      default:
        throw new Error(`unknown command ${c.cmd}`);
    }
  }

  await serveCommands(cfg.id, handle);
  runner.stop();
  for (const e of echoClients.values()) e.close();
  (echoServer as Server | null)?.close();
  await router.close();
  process.exit(0);
}

runAsScript(import.meta.url, 'hart node', runHartNode);
