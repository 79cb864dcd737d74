/**
 * The QMP command table and request dispatch, independent of sockets so it
 * can be tested directly. Validation and error texts follow QEMU's
 * qapi/qmp-dispatch.c and monitor/qmp.c, so scripts written for QEMU see the
 * same answers.
 */
import { QMP_VERSION, QmpError, type QmpErrorReply, type QmpReturn } from './qmp-protocol.js';
import { needsReset, type VmControl } from './vm-control.js';

/** Per-connection state: QMP starts in capabilities negotiation mode. */
export interface QmpSession {
  negotiated: boolean;
}

/** What the connection writes back, and what to run once the reply is on the wire. */
export interface DispatchResult {
  reply: QmpReturn | QmpErrorReply;
  /** Runs after the reply is flushed (quit may end the process). */
  afterReply?: () => Promise<void>;
}

type ArgKind = 'array' | 'string' | 'number' | 'boolean' | 'object';

interface CommandDef {
  /** Accepted arguments; all optional. */
  args?: Record<string, ArgKind>;
  run(control: VmControl, args: Record<string, unknown>, session: QmpSession): Promise<unknown> | unknown;
  afterReply?: (control: VmControl) => Promise<void>;
  /** Allowed in capabilities negotiation mode. */
  negotiation?: boolean;
}

const EMPTY = Object.freeze({});

const COMMANDS: Record<string, CommandDef> = {
  qmp_capabilities: {
    args: { enable: 'array' },
    negotiation: true,
    run(_c, args, session) {
      if (session.negotiated) {
        throw new QmpError('CommandNotFound', 'Capabilities negotiation is already complete, command ignored');
      }
      const enable = (args.enable as unknown[] | undefined) ?? [];
      for (const cap of enable) {
        // HydraVM advertises no capabilities (no out-of-band execution).
        throw new QmpError('GenericError', `Capability '${String(cap)}' not available`);
      }
      session.negotiated = true;
      return EMPTY;
    },
  },
  'query-status': {
    run(c) {
      const s = c.status();
      return { running: s.running, singlestep: false, status: s.status };
    },
  },
  stop: {
    async run(c) {
      await c.stop();
      return EMPTY;
    },
  },
  cont: {
    async run(c) {
      const s = c.status().status;
      if (needsReset(s)) throw new QmpError('GenericError', 'Resetting the Virtual Machine is required');
      await c.cont();
      return EMPTY;
    },
  },
  system_reset: {
    async run(c) {
      await c.systemReset();
      return EMPTY;
    },
  },
  system_powerdown: {
    async run(c) {
      await c.systemPowerdown();
      return EMPTY;
    },
  },
  quit: {
    run: () => EMPTY,
    afterReply: (c) => c.quit(),
  },
  'query-cpus-fast': { run: (c) => c.cpus() },
  'query-hydra-nodes': { run: (c) => c.nodes() },
  'query-hydra-dsm': { run: (c) => c.dsm() },
  'query-hydra-forwarding': { run: (c) => c.forwarding() },
  'query-hydra-stats': {
    run(c) {
      if (!c.stats) throw new QmpError('GenericError', 'query-hydra-stats is not available: this node has no statistics source');
      return c.stats();
    },
  },
  'hydra-snapshot-save': {
    args: { dir: 'string', resume: 'boolean' },
    run(c, args) {
      if (typeof args.dir !== 'string') throw new QmpError('GenericError', "Parameter 'dir' is missing");
      if (args.dir === '') throw new QmpError('GenericError', "Parameter 'dir' must name a directory");
      if (!c.snapshotSave) throw new QmpError('GenericError', 'hydra-snapshot-save is not available: this node cannot take snapshots');
      return c.snapshotSave(args.dir, args.resume !== false);
    },
  },
  'hydra-migrate-hart': {
    args: { hart: 'number', node: 'number' },
    run(c, args) {
      for (const k of ['hart', 'node']) if (typeof args[k] !== 'number') throw new QmpError('GenericError', `Parameter '${k}' is missing`);
      if (!c.migrateHart) throw new QmpError('GenericError', 'hydra-migrate-hart is not available: this node cannot move harts');
      return c.migrateHart(args.hart as number, args.node as number);
    },
  },
  'query-commands': {
    run: () => Object.keys(COMMANDS).map((name) => ({ name })),
  },
  'query-version': { run: () => QMP_VERSION },
};

export const QMP_COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

const REQUEST_MEMBERS = new Set(['execute', 'arguments', 'id']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): ArgKind | 'null' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v as ArgKind;
}

function errorReply(err: unknown, id: unknown, hasId: boolean): QmpErrorReply {
  const e = err instanceof QmpError ? err : new QmpError('GenericError', err instanceof Error ? err.message : String(err));
  const reply: QmpErrorReply = { error: { class: e.errorClass, desc: e.desc } };
  if (hasId) reply.id = id;
  return reply;
}

/** Turns the text of one framed message into a reply. Never throws. */
export async function dispatchText(control: VmControl, session: QmpSession, text: string): Promise<DispatchResult> {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (err) {
    return { reply: errorReply(new QmpError('GenericError', `JSON parse error, ${(err as Error).message}`), undefined, false) };
  }
  return dispatch(control, session, request);
}

/** Validates and executes one parsed request. Never throws. */
export async function dispatch(control: VmControl, session: QmpSession, request: unknown): Promise<DispatchResult> {
  const hasId = isObject(request) && 'id' in request;
  const id = hasId ? (request as Record<string, unknown>).id : undefined;
  try {
    if (!isObject(request)) throw new QmpError('GenericError', 'QMP input must be a JSON object');
    for (const key of Object.keys(request)) {
      if (key === 'exec-oob') throw new QmpError('GenericError', "QMP input member 'exec-oob' is not supported: HydraVM offers no out-of-band execution");
      if (!REQUEST_MEMBERS.has(key)) throw new QmpError('GenericError', `QMP input member '${key}' is unexpected`);
    }
    const name = request.execute;
    if (name === undefined) throw new QmpError('GenericError', "QMP input lacks member 'execute'");
    if (typeof name !== 'string') throw new QmpError('GenericError', "QMP input member 'execute' must be a string");
    const rawArgs = request.arguments ?? {};
    if (!isObject(rawArgs)) throw new QmpError('GenericError', "QMP input member 'arguments' must be an object");
    const def = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!session.negotiated && !def?.negotiation) {
      // QEMU replaces the desc of every CommandNotFound in this mode with this hint.
      throw new QmpError('CommandNotFound', "Expecting capabilities negotiation with 'qmp_capabilities'");
    }
    if (!def) throw new QmpError('CommandNotFound', `The command ${name} has not been found`);
    for (const [key, value] of Object.entries(rawArgs)) {
      const want = def.args?.[key];
      if (!want) throw new QmpError('GenericError', `Parameter '${key}' is unexpected`);
      if (kindOf(value) !== want) throw new QmpError('GenericError', `Invalid parameter type for '${key}', expected: ${want}`);
    }
    const value = await def.run(control, rawArgs, session);
    const reply: QmpReturn = { return: value ?? EMPTY };
    if (hasId) reply.id = id;
    const after = def.afterReply;
    return after ? { reply, afterReply: () => after(control) } : { reply };
  } catch (err) {
    return { reply: errorReply(err, id, hasId) };
  }
}
