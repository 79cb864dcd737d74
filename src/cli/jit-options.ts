import { UsageError } from './errors.js';
import { DEFAULT_JIT, defaultJitMode } from '../node/core-module.js';

/** --jit on|off and --jit-threshold N, shared by `hydravm run` and `hydravm node` (docs/jit.md). */
export interface JitCliOptions {
  jit: 'on' | 'off';
  /** Arrivals at an entry point before it is compiled (0 = every block on first use); undefined = default. */
  jitThreshold: number | undefined;
}

export const JIT_OPTIONS = {
  jit: { type: 'string' },
  'jit-threshold': { type: 'string' },
} as const;

export const JIT_USAGE = `  --jit on|off         compile hot guest code to WebAssembly (default ${DEFAULT_JIT};
                       HYDRAVM_JIT=on|off sets the default)
  --jit-threshold N    arrivals at a block before the JIT compiles it; 0 = every block on first use`;

export function parseJitOptions(jit: string | undefined, threshold: string | undefined): JitCliOptions {
  const mode = jit ?? defaultJitMode();
  if (mode !== 'on' && mode !== 'off') throw new UsageError(`--jit ${JSON.stringify(jit)}: expected on or off`);
  let t: number | undefined;
  if (threshold !== undefined) {
    if (!/^\d+$/.test(threshold) || Number(threshold) > 65534) {
      throw new UsageError(`--jit-threshold ${JSON.stringify(threshold)}: expected an integer in 0..65534`);
    }
    t = Number(threshold);
  }
  return { jit: mode, jitThreshold: t };
}

/** The same switches on a cluster node's command line. */
export function jitArgsFor(o: JitCliOptions): string[] {
  const a = ['--jit', o.jit];
  if (o.jitThreshold !== undefined) a.push('--jit-threshold', String(o.jitThreshold));
  return a;
}
