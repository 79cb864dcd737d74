import { DsmAccessor } from '../dsm/accessor.js';
import { BLOCK_SIZE } from '../core/abi.js';
import { DsmEngine, type DsmEngineOptions } from '../dsm/engine.js';
import type { Router } from '../router/types.js';
import { CorePageStore } from './core-page-store.js';
import { CorePageTable, type PageTableOptions } from './core-page-table.js';
import type { WasmCore } from './wasm-core.js';
import type { DsmFaultExit } from './vcpu.js';
import type { Completion } from '../dsm/completion.js';

const PAGE = 4096;

/**
 * Guest RAM of a cluster node: the DSM engine over the core's page-state
 * table. Host-side accesses go through the pinning accessor; the core's
 * EXIT_DSM_FAULT goes to the engine, and only the faulting hart waits.
 */
export class DsmGuestMemory extends DsmAccessor {
  readonly dsm: DsmEngine;
  readonly pages: CorePageStore;
  readonly table: CorePageTable;
  /** Called with the RAM page index of every fault the core reports (hot-page statistics). */
  onFault: ((page: number) => void) | undefined;

  constructor(
    private readonly core: WasmCore,
    router: Router,
    homeOf: (page: number) => number,
    maxFrames: number | null,
    /** Fail-stop hooks: fault deadline, pause probe, protocol-error handler. */
    failure: Pick<DsmEngineOptions, 'faultTimeoutMs' | 'isPaused' | 'onProtocolError'> = {},
    /** Adaptive granularity (on by default); false keeps every page whole. */
    granularity?: DsmEngineOptions['granularity'],
    /** The wasm window (frames beyond it live in the local tier). */
    window: PageTableOptions = {},
  ) {
    const table = new CorePageTable(core, window);
    const store = new CorePageStore(core, table);
    const engine = new DsmEngine({ router, store, pageCount: core.ramPages, homeOf, maxFrames, granularity, ...failure });
    super(engine, store, core.ramBase, core.ramSize);
    this.dsm = engine;
    this.pages = store;
    this.table = table;
  }

  /** Every page zero and home-owned again; every node of the cluster does this while all are quiescent. */
  reset(): void {
    this.dsm.resetAll();
  }

  /** true at once, or a completion that settles synchronously when the page arrives (DsmEngine.hartFault). */
  resolveFault(exit: DsmFaultExit): boolean | Completion<boolean> {
    const gpa = exit.addr;
    const page = Math.floor((gpa - this.ramBase) / PAGE);
    if (page < 0 || page >= this.core.ramPages) return false;
    const access = exit.access;
    // the block of a split page, or the block a page fault hit (false-sharing detection)
    const block = Math.floor(((gpa - this.ramBase) % PAGE) / BLOCK_SIZE);
    // a page in the local tier is here already: copy it into the window, no DSM, no network
    if (this.table.inTier(page)) {
      this.table.pageIn(page);
      return true;
    }
    this.onFault?.(page);
    const c = this.dsm.hartFault(page, access, block);
    return c.settled ? true : c.then(() => true);
  }
}
