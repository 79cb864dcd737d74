/**
 * A completion that runs its callbacks synchronously, at the moment it is
 * settled: a thenable (await and Promise.resolve accept it) without the
 * promise machinery's microtask per step.
 *
 * Why: a hart waiting on a remote fault should run again while the socket
 * callback that installed the page is still on the stack. With promises the
 * resume sat behind a chain of four reactions (the fault's loop, the
 * memory's mapping, the VM's check, the runner) and the tail of Node's
 * stream machinery, 5-12 us of a ~100 us fault under load (docs/dsm.md,
 * "Where a remote fault's time goes").
 *
 * Differences from a Promise, on purpose:
 * - then() on a settled completion calls back at once, inside then();
 * - settling runs every callback before resolve()/reject() returns, so the
 *   settler must be at a point where re-entry is safe (the DSM engine
 *   settles hart faults after it has handled the message, never inside).
 * A rejection nobody handles by the next event-loop turn is thrown then,
 * which makes it an uncaught exception, as an unhandled promise rejection
 * is under Node's default mode.
 */

type Callback = (ok: boolean, v: unknown) => void;

const PENDING = 0;
const RESOLVED = 1;
const REJECTED = 2;

export class Completion<T> implements PromiseLike<T> {
  private state = PENDING;
  private value: unknown = undefined;
  private callbacks: Callback[] | null = null;
  private handled = false;

  /** A completion that is already resolved with `v`. */
  static resolved<T>(v: T): Completion<T> {
    const c = new Completion<T>();
    c.resolve(v);
    return c;
  }

  get settled(): boolean {
    return this.state !== PENDING;
  }

  resolve(v: T): void {
    this.settle(RESOLVED, v);
  }

  reject(e: unknown): void {
    this.settle(REJECTED, e);
  }

  /** Settles this completion the way `r` settles (a thenable) or with `r`. */
  follow(r: T | PromiseLike<T>): void {
    if (isThenable(r)) r.then((v) => this.resolve(v), (e) => this.reject(e));
    else this.resolve(r);
  }

  then<R1 = T, R2 = never>(
    onOk?: ((v: T) => R1 | PromiseLike<R1>) | null,
    onErr?: ((e: unknown) => R2 | PromiseLike<R2>) | null,
  ): Completion<R1 | R2> {
    const next = new Completion<R1 | R2>();
    this.listen((ok, v) => {
      const f = ok ? onOk : onErr;
      if (!f) {
        if (ok) next.resolve(v as R1);
        else next.reject(v);
        return;
      }
      let r: R1 | R2 | PromiseLike<R1 | R2>;
      try {
        r = (f as (x: unknown) => R1 | R2 | PromiseLike<R1 | R2>)(v);
      } catch (e) {
        next.reject(e);
        return;
      }
      next.follow(r);
    });
    return next;
  }

  private listen(cb: Callback): void {
    this.handled = true;
    if (this.state !== PENDING) cb(this.state === RESOLVED, this.value);
    else (this.callbacks ??= []).push(cb);
  }

  private settle(state: number, v: unknown): void {
    if (this.state !== PENDING) return;
    this.state = state;
    this.value = v;
    const cbs = this.callbacks;
    this.callbacks = null;
    if (cbs !== null) {
      for (const cb of cbs) cb(state === RESOLVED, v);
    } else if (state === REJECTED) {
      // checked a turn later: `await` attaches to a thenable from a microtask
      setImmediate(() => {
        if (!this.handled) throw v;
      });
    }
  }
}

function isThenable<T>(r: T | PromiseLike<T>): r is PromiseLike<T> {
  return r !== null && (typeof r === 'object' || typeof r === 'function') && typeof (r as PromiseLike<T>).then === 'function';
}
