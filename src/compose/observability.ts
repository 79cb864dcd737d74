/**
 * The node's HTTP faces: the Prometheus endpoint (--metrics) and the web
 * dashboard (--dashboard), both reading the whole cluster through the same
 * CONTROL queries as QMP's query-hydra-stats. The dashboard's console is a
 * tap on the guest's serial output plus the UART's input.
 */
import { startMetricsServer, type MetricsServer } from '../control/metrics-server.js';
import { startDashboard, type Dashboard, type DashboardConsole } from '../control/dashboard/server.js';
import type { ClusterVmControl } from './cluster-control.js';

/** Guest serial output fanned out to browser consoles. */
export class ConsoleTap implements DashboardConsole {
  private readonly listeners = new Set<(bytes: Uint8Array) => void>();

  constructor(private readonly toGuest: (bytes: Uint8Array) => void) {}

  /** Every byte the guest writes to its console. */
  output(bytes: Uint8Array): void {
    for (const l of this.listeners) l(bytes);
  }

  onOutput(cb: (bytes: Uint8Array) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  input(bytes: Uint8Array): void {
    this.toGuest(bytes);
  }
}

export interface ObservabilityOptions {
  metrics?: string | undefined;
  metricsAllowRemote?: boolean;
  dashboard?: string | undefined;
  dashboardAllowRemote?: boolean;
  /** Present on the node that owns the UART; without it the dashboard has no console. */
  console?: ConsoleTap | undefined;
  log: (line: string) => void;
}

export interface Observability {
  metrics: MetricsServer | undefined;
  dashboard: Dashboard | undefined;
  close(): Promise<void>;
}

export async function startObservability(control: ClusterVmControl, o: ObservabilityOptions): Promise<Observability> {
  const source = (): ReturnType<ClusterVmControl['stats']> => control.stats();
  let metrics: MetricsServer | undefined;
  let dashboard: Dashboard | undefined;
  try {
    if (o.metrics) {
      metrics = await startMetricsServer({ listen: o.metrics, source, allowRemote: o.metricsAllowRemote ?? false, log: (m) => o.log(`metrics: ${m}`) });
      o.log(`metrics: ${metrics.url}`);
    }
    if (o.dashboard) {
      dashboard = await startDashboard({
        listen: o.dashboard,
        source,
        pages: () => control.pageMap(),
        ...(o.console ? { console: o.console } : {}),
        allowRemote: o.dashboardAllowRemote ?? false,
        log: (m) => o.log(`dashboard: ${m}`),
      });
      o.log(`dashboard: ${dashboard.url}`);
    }
  } catch (err) {
    await metrics?.close();
    throw err;
  }
  return {
    metrics,
    dashboard,
    close: async () => {
      await Promise.all([metrics?.close(), dashboard?.close()]);
    },
  };
}
