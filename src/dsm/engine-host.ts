/**
 * What the protocol roles (manager-role.ts, owner-role.ts,
 * requester-role.ts) may use of their engine: the node's page knowledge
 * (rights and ownership in the store, transient state in the unit's
 * PageMeta), its frames, and a way to send. DsmEngine builds one and hands it to each
 * role, so the roles stay free of the engine's public API.
 */
import type { FrameBudget, Victim, VictimChoice } from './capacity.js';
import type { DsmMessage } from './codec.js';
import type { ManagerDirectory } from './directory.js';
import type { LocalOp, PageMeta } from './page-meta.js';
import type { UnitStore } from './units.js';
import type { DsmStats } from './stats.js';

export interface EngineHost {
  readonly nodeId: number;
  readonly nodeCount: number;
  /** Pages and blocks by coherence unit (units.ts), with their rights and owner bit; `store.pages` is the node's PageStore. */
  readonly store: UnitStore;
  readonly directory: ManagerDirectory;
  readonly counters: DsmStats;
  readonly budget: FrameBudget;
  readonly homeOf: (page: number) => number;
  /** The unit's transient record (created on first use). */
  meta(page: number): PageMeta;
  /** Sends m to node `to` (to self: delivered later, or at once for FWD_*). */
  post(to: number, m: DsmMessage): void;
  log(line: string): void;
  nextTxn(): number;
  /** Manager: starts the unit's next queued request unless one is in flight. */
  pump(unit: number): void;
  /** Forgets this node's per-block records of a page that was merged (those with nothing pending). */
  forgetBlocks(page: number): void;
  /** Gives the unit's page a frame and counts it against the cap. */
  allocFrame(unit: number): void;
  /** Flushes and frees this node's copy of the unit; the node no longer owns it. A page's frame goes when no block needs it. */
  dropLocal(unit: number): void;
  /** The oldest unit that can give its frame up (capacity.ts); `dropOnly`: only copies this node does not own. */
  pickVictim(dropOnly: boolean): VictimChoice;
  /** Re-runs a remote request after an unpin or the end of the local op. */
  defer(page: number, from: number, m: DsmMessage): void;
  /** Sends INV to `targets`; the write completes when all have acknowledged. */
  startInvalidation(page: number, op: LocalOp, targets: number[]): void;
  finishWrite(page: number, op: LocalOp): void;
  completeOp(page: number, op: LocalOp): void;
  failOp(page: number, op: LocalOp, err: Error): void;
  confirmSoon(page: number, txn: number): void;
  evict(v: Victim): Promise<void>;
  evictDone(page: number): void;
  trimSoon(): void;
}
