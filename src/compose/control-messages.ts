import { Channel, type ClusterRouter } from '../router/types.js';
import type { NodeVm, VmExit } from '../node/node-vm.js';

/**
 * CONTROL channel messages between nodes (JSON: rare and small):
 *   {op:"hello"}                     request; answered once the node's VM exists (boot barrier)
 *   {op:"boot", entry, fdt}          node 0 loaded the images; firmware/bare-metal harts may start
 *   {op:"stop", exit}                the VM ended (poweroff, reset, quit, error) on some node
 *   {op:"pause"} / {op:"cont"}       QMP stop / cont, wherever it arrived
 *   {op:"console", data}             SBI console output of a hart on a node without the UART (base64)
 *   {op:"query", what}               request; reply = this node's JSON for "cpus", "dsm", "forwarding",
 *                                    "stats" (NodeStats) or "pages" (NodePageOwners)
 *   {op:"snapshot", step, ...}       request; "prepare" quiesces the paused node, "write" writes its part
 *                                    (docs/snapshot.md); "reset", "restart" and "reset-request" make a
 *                                    distributed reset; reply {ok:true, result} or {ok:false, error, name}
 */
export type ControlMessage =
  | { op: 'hello' }
  | { op: 'boot'; entry: number; fdt: number }
  | { op: 'stop'; exit: { kind: 'poweroff' | 'reset' | 'quit' | 'halt' | 'error'; code?: number; message?: string } }
  | { op: 'pause' }
  | { op: 'cont' }
  | { op: 'console'; data: string }
  | { op: 'query'; what: QueryKind }
  | SnapshotStep;

/** A step of a distributed snapshot, sent by the node that took the QMP command (compose/cluster-snapshot.ts). */
export type SnapshotStep =
  | { op: 'snapshot'; step: 'prepare' }
  | { op: 'snapshot'; step: 'write'; dir: string; id: string }
  /** Distributed reset (compose/cluster-reset.ts): "reset" clears this node's machine, "restart" starts its boot harts. */
  | { op: 'snapshot'; step: 'reset' }
  | { op: 'snapshot'; step: 'restart'; entry: number; fdt: number; reason: 'guest' | 'qmp' }
  /** To node 0: reset the whole VM (a guest reboot elsewhere, or system_reset); replies when it runs again. */
  | { op: 'snapshot'; step: 'reset-request'; reason: 'guest' | 'qmp' }
  /** Hart migration (compose/hart-migration.ts): hand a hart's state over, then everyone records the new place. */
  | { op: 'snapshot'; step: 'migrate-out'; hart: number }
  | { op: 'snapshot'; step: 'migrate-in'; hart: number; image: string; hsm: number; run: number }
  | { op: 'snapshot'; step: 'place'; hart: number; node: number };

/** A node answered a snapshot step with an error; the message names the node. */
export class RemoteStepError extends Error {
  constructor(readonly node: number, readonly remoteName: string, message: string) {
    super(`node ${node}: ${message}`);
    this.name = remoteName;
  }
}

export type QueryKind = 'cpus' | 'dsm' | 'forwarding' | 'stats' | 'pages';
const QUERY_KINDS: readonly string[] = ['cpus', 'dsm', 'forwarding', 'stats', 'pages'];

const enc = new TextEncoder();
const dec = new TextDecoder();

export class ControlProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlProtocolError';
  }
}

function parse(msg: Uint8Array): ControlMessage {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(msg));
  } catch {
    throw new ControlProtocolError(`CONTROL message is not JSON (${msg.length} bytes)`);
  }
  const op = (v as { op?: unknown })?.op;
  if (op === 'hello' || op === 'pause' || op === 'cont') return v as ControlMessage;
  if (op === 'boot') {
    const b = v as { entry?: unknown; fdt?: unknown };
    if (typeof b.entry === 'number' && typeof b.fdt === 'number') return v as ControlMessage;
  }
  if (op === 'query' && QUERY_KINDS.includes((v as { what?: string }).what ?? '')) return v as ControlMessage;
  if (op === 'console' && typeof (v as { data?: unknown }).data === 'string') return v as ControlMessage;
  if (op === 'snapshot') {
    const s = v as { step?: unknown; dir?: unknown; id?: unknown; entry?: unknown; fdt?: unknown; reason?: unknown };
    if (s.step === 'prepare' || s.step === 'reset') return v as ControlMessage;
    if (s.step === 'write' && typeof s.dir === 'string' && typeof s.id === 'string') return v as ControlMessage;
    if (s.step === 'restart' && typeof s.entry === 'number' && typeof s.fdt === 'number' && (s.reason === 'guest' || s.reason === 'qmp')) return v as ControlMessage;
    if (s.step === 'reset-request' && (s.reason === 'guest' || s.reason === 'qmp')) return v as ControlMessage;
    const h = v as { hart?: unknown; node?: unknown; image?: unknown; hsm?: unknown; run?: unknown };
    if (typeof h.hart === 'number') {
      if (s.step === 'migrate-out') return v as ControlMessage;
      if (s.step === 'place' && typeof h.node === 'number') return v as ControlMessage;
      if (s.step === 'migrate-in' && typeof h.image === 'string' && typeof h.hsm === 'number' && typeof h.run === 'number') return v as ControlMessage;
    }
  }
  if (op === 'stop' && typeof (v as { exit?: { kind?: unknown } }).exit?.kind === 'string') return v as ControlMessage;
  throw new ControlProtocolError(`CONTROL message ${JSON.stringify(v).slice(0, 200)} is not a known operation`);
}

/** One node's DSM traffic so far, the reply to a prepare step (cluster-quiesce.ts). */
export interface DsmTraffic {
  sent: number;
  received: number;
}

export interface ControlHooks {
  onBoot(entry: number, fdtAddr: number): void;
  onPause?(paused: boolean): void;
  onConsole?(bytes: Uint8Array): void;
  query?(what: QueryKind): unknown;
  /** Runs a snapshot step on this node. */
  snapshot?(step: SnapshotStep): Promise<unknown>;
  log(line: string): void;
}

export class ControlMessages {
  constructor(
    private readonly router: ClusterRouter,
    private readonly vm: NodeVm,
    private readonly hooks: ControlHooks,
  ) {}

  private send(m: ControlMessage): Uint8Array {
    return enc.encode(JSON.stringify(m));
  }

  receive(_from: number, msg: Uint8Array, reply: ((r: Uint8Array) => void) | null): void {
    const m = parse(msg);
    switch (m.op) {
      case 'hello':
        reply?.(this.send({ op: 'hello' }));
        return;
      case 'boot':
        this.hooks.onBoot(m.entry, m.fdt);
        return;
      case 'stop': {
        const e = m.exit;
        const exit: VmExit =
          e.kind === 'error'
            ? { kind: 'error', error: new Error(e.message ?? 'another node failed') }
            : e.kind === 'halt'
              ? { kind: 'halt', code: e.code ?? 0, message: e.message ?? '' }
              : e.kind === 'poweroff'
                ? { kind: 'poweroff', code: e.code ?? 0 }
                : { kind: e.kind };
        this.vm.stop(exit);
        return;
      }
      case 'query':
        reply?.(enc.encode(JSON.stringify(this.hooks.query?.(m.what) ?? null)));
        return;
      case 'console':
        this.hooks.onConsole?.(new Uint8Array(Buffer.from(m.data, 'base64')));
        return;
      case 'snapshot': {
        const run = this.hooks.snapshot?.(m) ?? Promise.reject(new Error('this node takes no snapshots'));
        run.then(
          (result) => reply?.(enc.encode(JSON.stringify({ ok: true, result }))),
          (e: unknown) => reply?.(enc.encode(JSON.stringify({ ok: false, error: (e as Error)?.message ?? String(e), name: (e as Error)?.name ?? 'Error' }))),
        );
        return;
      }
      case 'pause':
      case 'cont':
        this.vm.sched.setPaused(m.op === 'pause');
        this.hooks.onPause?.(m.op === 'pause');
        reply?.(this.send(m));
        return;
    }
  }

  /** Waits until every other node answers hello (its VM exists and its handlers are in place). */
  async helloAll(): Promise<void> {
    const peers = [...Array(this.router.nodeCount).keys()].filter((n) => n !== this.router.nodeId);
    await Promise.all(peers.map((n) => this.router.request(n, Channel.CONTROL, this.send({ op: 'hello' }), { timeout: 60_000 })));
  }

  broadcastBoot(entry: number, fdt: number): void {
    this.router.broadcast(Channel.CONTROL, this.send({ op: 'boot', entry, fdt }));
  }

  broadcastStop(e: VmExit): void {
    const exit: Extract<ControlMessage, { op: 'stop' }>['exit'] =
      e.kind === 'error' ? { kind: 'error', message: e.error.message } : e.kind === 'halt' ? { kind: 'halt', code: e.code, message: e.message } : e.kind === 'poweroff' ? { kind: 'poweroff', code: e.code } : { kind: e.kind };
    try {
      this.router.broadcast(Channel.CONTROL, this.send({ op: 'stop', exit }));
    } catch (err) {
      this.hooks.log(`could not tell every node to stop: ${(err as Error).message}`);
    }
  }

  /** Every node's answer to a query, in node order (this node answers locally). */
  async queryAll(what: QueryKind): Promise<unknown[]> {
    const m = this.send({ op: 'query', what });
    return Promise.all(
      [...Array(this.router.nodeCount).keys()].map(async (n) =>
        n === this.router.nodeId
          ? this.hooks.query?.(what) ?? null
          : JSON.parse(dec.decode(await this.router.request(n, Channel.CONTROL, m, { timeout: 10_000 }))),
      ),
    );
  }

  /**
   * Like queryAll, but a node that does not answer becomes null instead of
   * failing the whole query (the stats views must survive a lost node).
   */
  async queryEach(what: QueryKind, timeoutMs = 5_000): Promise<unknown[]> {
    const m = this.send({ op: 'query', what });
    const all = await Promise.allSettled(
      [...Array(this.router.nodeCount).keys()].map(async (n) =>
        n === this.router.nodeId ? this.hooks.query?.(what) ?? null : JSON.parse(dec.decode(await this.router.request(n, Channel.CONTROL, m, { timeout: timeoutMs }))),
      ),
    );
    return all.map((r) => (r.status === 'fulfilled' ? r.value : null));
  }

  /** Sends guest console output to the node that owns the UART (and the terminal). */
  forwardConsole(node: number, bytes: Uint8Array): void {
    this.router.send(node, Channel.CONTROL, this.send({ op: 'console', data: Buffer.from(bytes).toString('base64') }));
  }

  /** Runs a step on one node (this one locally). */
  async snapshotStep(node: number, step: SnapshotStep, timeoutMs: number): Promise<unknown> {
    if (node === this.router.nodeId) {
      if (!this.hooks.snapshot) throw new Error('this node takes no snapshots');
      return this.hooks.snapshot(step);
    }
    const r = JSON.parse(dec.decode(await this.router.request(node, Channel.CONTROL, this.send(step), { timeout: timeoutMs }))) as { ok: boolean; result?: unknown; error?: string; name?: string };
    if (!r.ok) throw new RemoteStepError(node, r.name ?? 'Error', r.error ?? 'step failed');
    return r.result;
  }

  /** DSM messages this node put on the wire and took off it (cluster-quiesce.ts). */
  dsmTraffic(): DsmTraffic {
    const c = this.router.stats().channels['DSM'];
    return { sent: c?.sentMessages ?? 0, received: c?.receivedMessages ?? 0 };
  }

  /** Runs a snapshot step on every node (this one locally) and returns their results in node order. */
  async snapshotStepAll(step: SnapshotStep, timeoutMs: number): Promise<unknown[]> {
    return Promise.all([...Array(this.router.nodeCount).keys()].map((n) => this.snapshotStep(n, step, timeoutMs)));
  }

  /** QMP stop/cont on every node, this one included. */
  async setPausedEverywhere(paused: boolean): Promise<void> {
    const m = this.send({ op: paused ? 'pause' : 'cont' });
    this.vm.sched.setPaused(paused);
    const peers = [...Array(this.router.nodeCount).keys()].filter((n) => n !== this.router.nodeId);
    await Promise.all(peers.map((n) => this.router.request(n, Channel.CONTROL, m, { timeout: 10_000 })));
  }
}
