/**
 * One DSM node in its own OS process, over a real transport (unix or tcp),
 * driven line by line from its parent: JSON commands on stdin, one JSON reply
 * line per command on stdout. Used by test/integration/dsm-multiprocess and
 * bench/dsm. It is a test/bench host, not the node runtime: its PageStore is
 * the pure-JS MemoryPageStore.
 *
 *   node dist/test/dsm/testing/remote-node.js '<RemoteNodeConfig JSON>'
 */
import { createHash } from 'node:crypto';
import { Channel } from '../../../src/router/types.js';
import { DsmAccessor } from '../../../src/dsm/accessor.js';
import { DsmEngine } from '../../../src/dsm/engine.js';
import { MemoryPageStore } from '../memory-page-store.js';
import { makeRng } from './seeded-network.js';
import { homeOfPage, nodeRouter, RAM_BASE, runAsScript, serveCommands, type RemoteNodeConfig } from './node-process.js';

export type { RemoteNodeConfig } from './node-process.js';

export type RemoteCommand =
  | { cmd: 'touch'; pages: number[] }
  | { cmd: 'read' | 'write' | 'upgrade'; pages: number[] }
  | { cmd: 'rawrtt'; peer: number; count: number; requestBytes: number; replyBytes: number }
  | { cmd: 'pingpong'; page: number; ms: number }
  | { cmd: 'workload'; seed: number; iterations: number; counterPages: number[] }
  | { cmd: 'dump'; slotPage: number }
  | { cmd: 'stats' }
  | { cmd: 'exit' };

function nowUs(): number {
  return performance.now() * 1000;
}

export async function runRemoteNode(cfg: RemoteNodeConfig): Promise<void> {
  const router = nodeRouter(cfg, (line) => process.stderr.write(`dsm node ${cfg.id}: ${line}\n`), { heartbeatIntervalMs: 200, peerTimeoutMs: 3000 });
  const store = new MemoryPageStore(cfg.pages);
  // The engine's handler goes in before start(): peers may fault the moment their link is up.
  const engine = new DsmEngine({
    router,
    store,
    pageCount: cfg.pages,
    homeOf: (p) => homeOfPage(p, cfg.pages, cfg.nodeCount),
    maxFrames: cfg.maxFrames ?? null,
  });
  const mem = new DsmAccessor(engine, store, RAM_BASE, cfg.pages * 4096);
  const reply4k = new Uint8Array(1 << 20);
  router.on(Channel.CONTROL, (_from, msg, reply) => reply?.(reply4k.subarray(0, new DataView(msg.buffer, msg.byteOffset).getUint32(0, true))));
  await router.start(20_000);

  const u32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return b;
  };
  const timeEach = async (pages: number[], fn: (p: number) => Promise<void>) => {
    const us: number[] = [];
    for (const p of pages) {
      const t0 = nowUs();
      await fn(p);
      us.push(nowUs() - t0);
    }
    return us;
  };

  async function handle(c: RemoteCommand): Promise<unknown> {
    switch (c.cmd) {
      case 'touch':
        for (const p of c.pages) await mem.write(RAM_BASE + p * 4096, u32(p ^ 0x5a5a5a5a));
        return { ok: true };
      case 'read':
        return { us: await timeEach(c.pages, (p) => engine.readFault(p)) };
      case 'write':
        return { us: await timeEach(c.pages, (p) => engine.writeFault(p)) };
      case 'upgrade': {
        const us: number[] = [];
        for (const p of c.pages) {
          await engine.readFault(p);
          const t0 = nowUs();
          await engine.writeFault(p);
          us.push(nowUs() - t0);
        }
        return { us };
      }
      case 'rawrtt': {
        const req = new Uint8Array(Math.max(4, c.requestBytes));
        new DataView(req.buffer).setUint32(0, c.replyBytes, true);
        const us: number[] = [];
        for (let i = 0; i < c.count; i++) {
          const t0 = nowUs();
          const r = await router.request(c.peer, Channel.CONTROL, req);
          us.push(nowUs() - t0);
          if (r.length !== c.replyBytes) throw new Error(`raw reply of ${r.length} bytes, wanted ${c.replyBytes}`);
        }
        return { us };
      }
      case 'pingpong': {
        const end = performance.now() + c.ms;
        let count = 0;
        let start = -1;
        const off = 64 + 64 * cfg.id; // each node its own word: false sharing, not true sharing
        while (performance.now() < end) {
          const old = await mem.modify(RAM_BASE + c.page * 4096 + off, 4, (b) => u32(new DataView(b.buffer).getUint32(0, true) + 1));
          const v = new DataView(old.buffer).getUint32(0, true);
          if (start < 0) start = v;
          if (v !== start + count) throw new Error(`ping-pong word of node ${cfg.id} is ${v}, expected ${start + count}`);
          count++;
          // A hart services the router between slices; without this yield one
          // node would keep the page for the whole run.
          await new Promise((r) => setImmediate(r));
        }
        const s = engine.stats();
        return { count, writeFaults: s.faults.write.remote + s.faults.upgrade.remote };
      }
      case 'workload': {
        // Atomic increments on shared counters, plus this node's own slot
        // (page = its index in counterPages, offset 16 + 4 * id) written with
        // a rising sequence that every other node must see in order.
        const rng = makeRng(c.seed * 131 + cfg.id);
        const increments = new Array<number>(c.counterPages.length).fill(0);
        const seen = new Array<number>(cfg.nodeCount).fill(0);
        let seq = 0;
        for (let i = 0; i < c.iterations; i++) {
          const k = Math.floor(rng() * c.counterPages.length);
          const page = c.counterPages[k]!;
          const r = rng();
          if (r < 0.5) {
            await mem.modify(RAM_BASE + page * 4096, 4, (b) => u32(new DataView(b.buffer).getUint32(0, true) + 1));
            increments[k]!++;
          } else if (r < 0.75) {
            seq++;
            await mem.write(RAM_BASE + c.counterPages[0]! * 4096 + 16 + 4 * cfg.id, u32(seq));
          } else {
            const b = await mem.read(RAM_BASE + c.counterPages[0]! * 4096 + 16, 4 * cfg.nodeCount);
            for (let n = 0; n < cfg.nodeCount; n++) {
              const v = new DataView(b.buffer).getUint32(4 * n, true);
              if (v < seen[n]!) throw new Error(`node ${cfg.id} saw node ${n}'s sequence go back from ${seen[n]} to ${v}`);
              seen[n] = v;
            }
          }
        }
        return { increments, lastSeq: seq };
      }
      case 'dump': {
        const all = await mem.read(RAM_BASE, cfg.pages * 4096);
        const words = new Uint32Array(all.buffer);
        return {
          sha256: createHash('sha256').update(all).digest('hex'),
          firstWords: Array.from({ length: cfg.pages }, (_, p) => words[p * 1024]!),
          slots: Array.from(words.subarray(c.slotPage * 1024 + 4, c.slotPage * 1024 + 4 + cfg.nodeCount)),
        };
      }
      case 'stats':
        return engine.stats();
      case 'exit':
        return { bye: true };
    }
  }

  await serveCommands(cfg.id, handle);
  await router.close();
  process.exit(0);
}

runAsScript(import.meta.url, 'dsm remote node', runRemoteNode);
