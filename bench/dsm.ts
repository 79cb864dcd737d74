/**
 * DSM benchmark over real transports (unix sockets, then TCP on loopback):
 * five node processes, each one DsmEngine + MemoryPageStore (no CPU core).
 *
 *   node dist/bench/dsm.js [--samples N] [--pingpong-ms MS] [--transports unix,tcp]
 *                          [--hart-samples N] [--only hart|engine]   (hart: the hart-timed faults alone)
 *
 * First, per transport, hart-timed faults (benchHartFaults): two node
 * processes with real cores and hart threads; a guest load of a page owned
 * by the other node, timed by the guest from the access to its retirement,
 * against a plain node:net 4 KiB echo between the same processes, samples
 * interleaved; bar: fault p50 <= 1.2x echo p50, one check per transport. A
 * traced run gives the per-hop breakdown (docs/dsm.md, "Where a remote
 * fault's time goes"). TCP runs once more with sealing off (`hart_tcp_plain`,
 * reported only): the check is on sealed TCP, the default, and the plain run
 * tells the AEAD's share from TCP's. Then the engine-level figures below.
 *
 * Per transport, measured in the same run against the same peer process:
 *   raw_rtt_24B_4KiB   router request of 24 B (a DSM header) answered with 4 KiB:
 *                      the shape of a read fault, without the protocol
 *   raw_rtt_4KiB_echo  4 KiB each way
 *   read_fault         remote read fault, the manager is the owner (3 messages)
 *   read_fault_fwd     remote read fault forwarded to a third node (4 messages)
 *   write_fault_c0/1/3 write fault with 0, 1 and 3 other copies to invalidate
 *   upgrade            SHARED -> MODIFIED, no page data moves
 *   pingpong           two nodes incrementing their own words of one page
 *                      (false sharing): increments/s, next to one node alone
 * Faults are timed inside the faulting process around readFault/writeFault;
 * the raw round trips and half of the read faults are taken before the other
 * fault runs, the other halves after, so that drift hits them alike.
 * Then the false-sharing case with two harts on two nodes (false-sharing.ts):
 * counters in adjacent 64-byte lines of one page with splitting, against
 * separate pages (bar: >= 0.8x), and page-granular as the before.
 * The last line is the JSON summary; the checks compare the read fault p50
 * with the raw 24 B -> 4 KiB round trip on unix sockets (bar: <= 2x), and
 * the split false-sharing throughput with separate pages.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DsmProcessCluster } from '../test/dsm/testing/process-cluster.js';
import { benchFalseSharing } from './false-sharing.js';
import { HOP_COUNT, Hop } from '../src/transport/hop-trace.js';

const NODES = 5;
const PER_NODE = 4096; // pages homed on each node
const PAGES = NODES * PER_NODE;

interface Latency {
  n: number;
  p50_us: number;
  p99_us: number;
}

function summarize(us: number[]): Latency {
  const s = us.slice().sort((a, b) => a - b);
  const q = (x: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(x * s.length) - 1))]!;
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n: s.length, p50_us: r(q(0.5)), p99_us: r(q(0.99)) };
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

async function benchTransport(transport: 'unix' | 'tcp', samples: number, pingpongMs: number): Promise<Record<string, unknown>> {
  const cl = await DsmProcessCluster.start({ nodes: NODES, transport, pages: PAGES });
  try {
    const us = async (node: number, cmd: Parameters<DsmProcessCluster['command']>[1]) => (await cl.command<{ us: number[] }>(node, cmd, 300_000)).us;
    // Page sets, all homed on node 0.
    let next = 0;
    const take = (n: number) => {
      const r = range(next, n);
      next += n;
      return r;
    };
    const warm = take(400);
    const A = take(samples);
    const B = take(samples);
    const C0 = take(samples);
    const C1 = take(samples);
    const C3 = take(samples);
    const U = take(samples);
    if (next >= PER_NODE - 1) throw new RangeError(`--samples ${samples} needs more than ${PER_NODE} pages per node`);
    const falseShared = PER_NODE - 1;

    await cl.command(0, { cmd: 'touch', pages: [...warm, ...A, ...C0, ...C1, ...C3, ...U, falseShared] }, 300_000);
    await cl.command(2, { cmd: 'touch', pages: B }, 300_000); // node 2 becomes owner; node 0 stays manager
    await cl.command(2, { cmd: 'read', pages: C1 }, 300_000);
    for (const n of [2, 3, 4]) await cl.command(n, { cmd: 'read', pages: C3 }, 300_000);

    await us(1, { cmd: 'read', pages: warm });
    await us(1, { cmd: 'rawrtt', peer: 0, count: 400, requestBytes: 24, replyBytes: 4096 });

    const out: Record<string, unknown> = {};
    // Raw round trips before and after the fault runs; each run is one
    // command, so every sample sees a process that is already busy.
    const rawSmall = await us(1, { cmd: 'rawrtt', peer: 0, count: samples, requestBytes: 24, replyBytes: 4096 });
    const rawEcho = await us(1, { cmd: 'rawrtt', peer: 0, count: samples, requestBytes: 4096, replyBytes: 4096 });
    const read = await us(1, { cmd: 'read', pages: A.slice(0, samples / 2) });
    out.read_fault_fwd = summarize(await us(1, { cmd: 'read', pages: B }));
    out.write_fault_c0 = summarize(await us(1, { cmd: 'write', pages: C0 }));
    out.write_fault_c1 = summarize(await us(1, { cmd: 'write', pages: C1 }));
    out.write_fault_c3 = summarize(await us(1, { cmd: 'write', pages: C3 }));
    out.upgrade = summarize(await us(1, { cmd: 'upgrade', pages: U }));
    read.push(...(await us(1, { cmd: 'read', pages: A.slice(samples / 2) })));
    out.read_fault = summarize(read);
    rawSmall.push(...(await us(1, { cmd: 'rawrtt', peer: 0, count: samples, requestBytes: 24, replyBytes: 4096 })));
    rawEcho.push(...(await us(1, { cmd: 'rawrtt', peer: 0, count: samples, requestBytes: 4096, replyBytes: 4096 })));
    out.raw_rtt_24B_4KiB = summarize(rawSmall);
    out.raw_rtt_4KiB_echo = summarize(rawEcho);

    type Ping = { count: number; writeFaults: number };
    const alone = await cl.command<Ping>(0, { cmd: 'pingpong', page: falseShared, ms: pingpongMs });
    const [a0, b0] = [alone.writeFaults, (await cl.command<Ping>(1, { cmd: 'pingpong', page: falseShared, ms: 1 })).writeFaults];
    const [a, b] = await Promise.all([
      cl.command<Ping>(0, { cmd: 'pingpong', page: falseShared, ms: pingpongMs }),
      cl.command<Ping>(1, { cmd: 'pingpong', page: falseShared, ms: pingpongMs }),
    ]);
    const perS = (v: number) => Math.round((v / pingpongMs) * 1000);
    out.pingpong = {
      one_node_increments_per_s: perS(alone.count),
      two_nodes_increments_per_s: perS(a.count + b.count),
      page_transfers_per_s: perS(a.writeFaults - a0 + (b.writeFaults - b0)),
    };
    return out;
  } finally {
    await cl.close();
  }
}

// ---------------------------------------------------------------- hart-timed faults

const HART_NODE = fileURLToPath(new URL('../test/dsm/testing/hart-node.js', import.meta.url));
const HART_PER_NODE = 8192;
/** Bar: a remote read fault, timed by the guest, against the raw round trip of the same transport. */
const HART_FAULT_BAR = 1.2;

const median = (v: number[]): number => summarize(v).p50_us;

/**
 * Where a fault's time goes: the p50 of each hop over the traced faults
 * (src/transport/hop-trace.ts). `guest` is the guest-timed total; `core` is
 * what the hop marks do not cover (the core's exit and re-entry, the TLB
 * fill, the two time reads).
 */
function breakdown(req: number[][], owner: number[][], guest: number[]): Record<string, number> | { error: string } {
  const m = req.map((a) => a.slice());
  m[Hop.RequestReceived] = owner[Hop.RequestReceived] ?? [];
  m[Hop.ReplySent] = owner[Hop.ReplySent] ?? [];
  const n = guest.length;
  for (let h = 0; h < HOP_COUNT; h++) {
    if (m[h]!.length !== n) return { error: `hop ${h} has ${m[h]!.length} marks for ${n} faults` };
  }
  const d = (a: Hop, b: Hop) => median(m[b]!.map((t, i) => t - m[a]![i]!));
  const span = m[Hop.Running]!.map((t, i) => t - m[Hop.ExitPosted]![i]!);
  return {
    hart_to_main: d(Hop.ExitPosted, Hop.ExitSeen),
    main_to_request_sent: d(Hop.ExitSeen, Hop.RequestSent),
    request_wire_and_owner_wake: d(Hop.RequestSent, Hop.RequestReceived),
    owner_service: d(Hop.RequestReceived, Hop.ReplySent),
    reply_wire_and_requester_wake: d(Hop.ReplySent, Hop.ReplyReceived),
    install: d(Hop.ReplyReceived, Hop.Installed),
    installed_to_resume: d(Hop.Installed, Hop.Resumed),
    main_to_hart: d(Hop.Resumed, Hop.Running),
    core: median(guest.map((g, i) => g - span[i]!)),
    guest_total: median(guest),
  };
}

/**
 * Two nodes with real cores (test/dsm/testing/hart-node.ts): node 1's hart
 * loads one word of each of `samples` pages owned by node 0 (manager = owner,
 * 3 messages), each load timed by the guest from the access to its
 * retirement. Between loads, node 1's main thread takes one plain node:net
 * echo of 4 KiB with node 0's process: the raw round trip, in the same run,
 * under the same conditions. A second, traced run gives the per-hop breakdown.
 */
async function benchHartFaults(transport: 'unix' | 'tcp', samples: number, plaintext = false): Promise<Record<string, unknown>> {
  const cl = await DsmProcessCluster.start({ nodes: 2, transport, pages: 2 * HART_PER_NODE, script: HART_NODE, plaintext });
  try {
    // The check is about a running VM: the faults right after 1,000 of warm-up
    // measured 1.9-2.1x the echo where the next ones measured 1.4-1.7x, after
    // 2,000 of warm-up 1.3-1.5x (docs/dsm.md, "Third round").
    const warm = range(1, 2000);
    const timed = range(warm.length + 1, samples);
    const traced = range(warm.length + samples + 1, Math.min(samples, HART_PER_NODE - warm.length - samples - 1));
    await cl.command(0, { cmd: 'fill', pages: [...warm, ...timed, ...traced] }, 300_000);
    const { address } = await cl.command<{ address: string }>(0, { cmd: 'echoServer' });
    type Run = { fault: number[]; echo: number[] };
    const run = (pages: number[]) => cl.command<Run>(1, { cmd: 'faults', pages, echo: address, echoBytes: 4096 }, 300_000);
    await run(warm);
    const r = await run(timed);
    for (const n of [0, 1]) await cl.command(n, { cmd: 'trace', on: true });
    const t = await run(traced);
    const [owner, req] = await Promise.all([0, 1].map((n) => cl.command<{ marks: number[][] }>(n, { cmd: 'hops' })));
    for (const n of [0, 1]) await cl.command(n, { cmd: 'trace', on: false });
    return {
      read_fault_hart: summarize(r.fault),
      raw_echo_4KiB: summarize(r.echo),
      ratio: Math.round((median(r.fault) / median(r.echo)) * 100) / 100,
      breakdown_us: breakdown(req!.marks, owner!.marks, t.fault),
      traced_raw_echo_p50_us: median(t.echo),
    };
  } finally {
    await cl.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      samples: { type: 'string', default: '500' },
      'pingpong-ms': { type: 'string', default: '2000' },
      transports: { type: 'string', default: 'unix,tcp' },
      'false-sharing-ms': { type: 'string', default: '3000' },
      'hart-samples': { type: 'string', default: '1000' },
      only: { type: 'string' },
    },
  });
  const samples = Math.max(2, Math.floor(Number(values.samples) / 2) * 2);
  const pingpongMs = Number(values['pingpong-ms']);
  const results: Record<string, Record<string, unknown>> = {};
  const checks = [];
  const transports = values.transports!.split(',') as Array<'unix' | 'tcp'>;
  if (values.only !== 'engine') {
    const hartSamples = Number(values['hart-samples']);
    for (const t of transports) {
      const r = await benchHartFaults(t, hartSamples);
      results[`hart_${t}`] = r;
      console.log(`hart ${t}`, JSON.stringify(r));
      checks.push({ name: `hart_read_fault_p50_vs_raw_echo_${t}`, value: r.ratio as number, bar: HART_FAULT_BAR, ok: (r.ratio as number) <= HART_FAULT_BAR });
    }
    if (transports.includes('tcp')) {
      // reported, not checked: TCP with sealing off, to tell what the AEAD costs from what TCP costs (docs/dsm.md)
      const r = await benchHartFaults('tcp', hartSamples, true);
      results.hart_tcp_plain = r;
      console.log('hart tcp_plain', JSON.stringify(r));
    }
  }
  for (const t of values.only === 'hart' ? [] : transports) {
    results[t] = await benchTransport(t, samples, pingpongMs);
    console.log(t, JSON.stringify(results[t]));
  }
  for (const t of values.only === 'hart' ? [] : transports) {
    const r = results[t]!;
    const ratio = Math.round(((r.read_fault as Latency).p50_us / (r.raw_rtt_24B_4KiB as Latency).p50_us) * 100) / 100;
    checks.push({ name: t === 'unix' ? 'read_fault_p50_ratio' : `read_fault_p50_ratio_${t}`, value: ratio, bar: 2, ok: ratio <= 2 });
  }
  // ---- false sharing with two harts (bench/false-sharing.ts, adaptive granularity) ----
  if (values.only !== 'hart') {
    const fs = await benchFalseSharing(Number(values['false-sharing-ms']));
    results.false_sharing = fs.results;
    console.log('false_sharing', JSON.stringify(fs.results));
    checks.push(fs.check);
  }
  console.log(JSON.stringify({ bench: 'dsm', results, checks }));
}

await main();
