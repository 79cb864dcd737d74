/**
 * Developer knobs read from the environment at the command line's edge, so
 * the layers below take them as plain options. They are for experiments
 * (docs/cluster.md, "Scheduler slices"); the defaults are the measured ones.
 */
import { UsageError } from './errors.js';

/** Scheduler slice and core budget of a cluster node, measured in docs/cluster.md. */
export const CLUSTER_SLICE_MS = 0.1;
export const CLUSTER_BUDGET = 10_000;

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new UsageError(`${name}=${raw} is not a positive number; unset it or give e.g. ${name}=${fallback}`);
  return v;
}

export interface SchedulerTuning {
  /** Milliseconds of execution between event-loop turns. */
  sliceMs: number;
  /** Instructions per core entry. */
  budget: number;
}

/** HYDRAVM_SLICE_MS and HYDRAVM_BUDGET, or the cluster defaults. */
export function clusterTuning(env: NodeJS.ProcessEnv = process.env): SchedulerTuning {
  return { sliceMs: positiveNumber(env, 'HYDRAVM_SLICE_MS', CLUSTER_SLICE_MS), budget: positiveNumber(env, 'HYDRAVM_BUDGET', CLUSTER_BUDGET) };
}

/** HYDRAVM_STATS_ON_EXIT: print a statistics line when the guest stops (bench/boot.ts reads it). */
export function statsOnExitRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env['HYDRAVM_STATS_ON_EXIT']);
}
