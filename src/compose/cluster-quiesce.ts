/**
 * Quiescence of a paused cluster, for snapshot, reset and hart migration
 * (docs/snapshot.md, "Why prepare repeats"). Each node can only tell that
 * it is idle itself; a DSM message still on the wire (a fault that left a
 * node just before the pause, reaching its manager after the manager
 * reported idle) starts work again after that report, such as a split that
 * takes a page away from its owner. So the coordinator repeats the prepare
 * step until a round finds every node idle with as many DSM messages
 * received as sent, cluster-wide, and the same counts as the round before
 * (Mattern's four-counter test): then no message is in flight and none can
 * start, since every hart is parked.
 */
import type { ControlMessages, DsmTraffic } from './control-messages.js';

/** The prepare round could not settle in time. */
export class QuiesceTimeoutError extends Error {
  constructor(readonly waitedMs: number, readonly rounds: number) {
    super(`the cluster did not settle within ${waitedMs} ms (${rounds} prepare rounds; DSM messages still moving); the VM keeps running, try again`);
    this.name = 'QuiesceTimeoutError';
  }
}

export async function quiesceCluster(control: ControlMessages, timeoutMs: number): Promise<void> {
  const t0 = performance.now();
  let previous: string | null = null;
  for (let rounds = 1; ; rounds++) {
    const traffic = (await control.snapshotStepAll({ op: 'snapshot', step: 'prepare' }, timeoutMs)) as DsmTraffic[];
    const sent = traffic.reduce((a, t) => a + t.sent, 0);
    const received = traffic.reduce((a, t) => a + t.received, 0);
    const counts = `${sent}/${received}`;
    if (sent === received && counts === previous) return;
    previous = counts;
    if (performance.now() - t0 > timeoutMs) throw new QuiesceTimeoutError(timeoutMs, rounds);
  }
}
