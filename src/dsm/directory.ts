/**
 * The manager's side of the fixed distributed manager scheme: for every page
 * homed on this node it records the current owner and serializes requests.
 * One transaction per page is in flight at a time; the next one starts only
 * after the current one is confirmed (CONFIRM, EVICT_DATA) or refused
 * (EVICT_NACK). This class is pure bookkeeping: the engine sends the messages.
 */

export type ManagerRequestKind = 'read' | 'write' | 'evict' | 'split' | 'merge';

export interface ManagerRequest {
  kind: ManagerRequestKind;
  requester: number;
  txn: number;
  /** WRITE_REQ only: the requester held a SHARED copy when it asked (upgrade). */
  hasCopy: boolean;
  /** Page requests: the block the requester faulted on (false-sharing detection). */
  hint?: number;
}

interface DirectoryEntry {
  owner: number;
  current: ManagerRequest | null;
  queue: ManagerRequest[];
  /** The owner was lost with the page's only valid copy. */
  lost: boolean;
}

export class DirectoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DirectoryError';
  }
}

export class ManagerDirectory {
  private readonly entries = new Map<number, DirectoryEntry>();

  /** `self` is this node: every page starts owned by its home. */
  constructor(private readonly self: number) {}

  private entry(page: number): DirectoryEntry {
    let e = this.entries.get(page);
    if (!e) {
      e = { owner: this.self, current: null, queue: [], lost: false };
      this.entries.set(page, e);
    }
    return e;
  }

  owner(page: number): number {
    return this.entries.get(page)?.owner ?? this.self;
  }

  isLost(page: number): boolean {
    return this.entries.get(page)?.lost ?? false;
  }

  current(page: number): ManagerRequest | null {
    return this.entries.get(page)?.current ?? null;
  }

  queued(page: number): number {
    return this.entries.get(page)?.queue.length ?? 0;
  }

  enqueue(page: number, req: ManagerRequest): void {
    this.entry(page).queue.push(req);
  }

  /** Starts and returns the next queued request, or null if busy or idle. */
  startNext(page: number): ManagerRequest | null {
    const e = this.entries.get(page);
    if (!e || e.current || e.queue.length === 0) return null;
    e.current = e.queue.shift()!;
    return e.current;
  }

  /** Ends the current transaction; `newOwner` is the owner it leaves behind. */
  complete(page: number, requester: number, txn: number, newOwner: number): void {
    const e = this.entries.get(page);
    const c = e?.current;
    if (!e || !c || c.requester !== requester || c.txn !== txn) {
      throw new DirectoryError(
        `page ${page}: no transaction (node ${requester}, txn ${txn}) in progress` +
          (c ? `; current is (node ${c.requester}, txn ${c.txn})` : ''),
      );
    }
    e.current = null;
    e.owner = newOwner;
  }

  /**
   * Makes `req` the page's transaction at once, ahead of the queue (a split
   * or merge the manager starts itself). The page must be idle.
   */
  occupy(page: number, req: ManagerRequest): void {
    const e = this.entry(page);
    if (e.current) throw new DirectoryError(`page ${page}: cannot start a ${req.kind} while (node ${e.current.requester}, txn ${e.current.txn}) is in progress`);
    e.current = req;
  }

  /** Puts the request just started back at the head of the queue (it waits for a split or merge). */
  putBack(page: number): void {
    const e = this.entries.get(page);
    if (e?.current) {
      e.queue.unshift(e.current);
      e.current = null;
    }
  }

  setOwner(page: number, owner: number): void {
    this.entry(page).owner = owner;
  }

  /** Removes and returns the queued requests of a unit that no longer exists (a merged page's blocks). */
  forget(page: number): ManagerRequest[] {
    const e = this.entries.get(page);
    this.entries.delete(page);
    return e ? e.queue : [];
  }

  /** Drops a request without touching the owner (refused eviction, failure). */
  abort(page: number): void {
    const e = this.entries.get(page);
    if (e) e.current = null;
  }

  markLost(page: number): void {
    this.entry(page).lost = true;
  }

  /** Pages with a queued or current request from `node`, or owned by it. */
  pagesInvolving(node: number): number[] {
    const out: number[] = [];
    for (const [page, e] of this.entries) {
      if (e.owner === node || e.current?.requester === node || e.queue.some((r) => r.requester === node)) out.push(page);
    }
    return out;
  }

  /** Removes queued requests from a lost node. */
  dropQueued(page: number, node: number): void {
    const e = this.entries.get(page);
    if (e) e.queue = e.queue.filter((r) => r.requester !== node);
  }

  /** System reset: every page owned by its home again, nothing queued. */
  clear(): void {
    this.entries.clear();
  }

  pages(): IterableIterator<number> {
    return this.entries.keys();
  }
}
