/**
 * A small in-memory devicetree: nodes with ordered properties and children,
 * and encoders for the property value types the devicetree spec defines
 * (big-endian u32 cells, u64 as two cells, NUL-terminated strings, string
 * lists, empty booleans). Serialisation lives in serialize.ts.
 */

export class FdtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FdtError';
  }
}

const TWO_32 = 0x1_0000_0000;

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new FdtError(`${what} value ${v} does not fit in a 32-bit cell`);
  }
}

/** Encoders for property values. Each returns the raw bytes of the value. */
export const fdtValue = {
  empty(): Uint8Array {
    return new Uint8Array(0);
  },
  /** One or more 32-bit cells. */
  cells(...values: number[]): Uint8Array {
    const out = new Uint8Array(values.length * 4);
    const dv = new DataView(out.buffer);
    values.forEach((v, i) => {
      checkU32(v, 'cell');
      dv.setUint32(i * 4, v);
    });
    return out;
  },
  /** 64-bit values, each as two cells (high, low). Numbers are exact up to 2^53. */
  u64(...values: number[]): Uint8Array {
    return fdtValue.cells(...values.flatMap(splitU64));
  },
  string(s: string): Uint8Array {
    return fdtValue.strings([s]);
  },
  strings(list: readonly string[]): Uint8Array {
    const enc = new TextEncoder();
    const parts = list.map((s) => {
      if (s.includes('\0')) throw new FdtError(`string property value ${JSON.stringify(s)} contains NUL`);
      return enc.encode(s);
    });
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length + 1;
    }
    return out;
  },
  bytes(b: Uint8Array): Uint8Array {
    return b.slice();
  },
};

/** Split a non-negative integer below 2^53 into [high, low] 32-bit cells. */
export function splitU64(v: number): [number, number] {
  if (!Number.isSafeInteger(v) || v < 0) throw new FdtError(`64-bit value ${v} is not a safe non-negative integer`);
  return [Math.floor(v / TWO_32), v % TWO_32];
}

const NODE_NAME = /^[A-Za-z0-9,._+-]+(@[A-Za-z0-9,._+-]+)?$/;
const PROP_NAME = /^[A-Za-z0-9,._+?#-]+$/;

export class FdtNode {
  readonly props = new Map<string, Uint8Array>();
  readonly children: FdtNode[] = [];

  /** `name` is "node-name@unit-address"; the root node's name is "". */
  constructor(readonly name: string) {
    if (name !== '' && !NODE_NAME.test(name)) throw new FdtError(`invalid node name "${name}"`);
  }

  /** Set a property (replacing an earlier value of the same name). */
  prop(name: string, value: Uint8Array): this {
    if (!PROP_NAME.test(name) || name.length > 31) throw new FdtError(`invalid property name "${name}"`);
    this.props.set(name, value);
    return this;
  }

  propCells(name: string, ...values: number[]): this {
    return this.prop(name, fdtValue.cells(...values));
  }

  propU64(name: string, ...values: number[]): this {
    return this.prop(name, fdtValue.u64(...values));
  }

  propString(name: string, value: string): this {
    return this.prop(name, fdtValue.string(value));
  }

  propStrings(name: string, values: readonly string[]): this {
    return this.prop(name, fdtValue.strings(values));
  }

  propEmpty(name: string): this {
    return this.prop(name, fdtValue.empty());
  }

  /** Add and return a new child node; sibling names must be unique. */
  child(name: string): FdtNode {
    if (this.children.some((c) => c.name === name)) {
      throw new FdtError(`node "${this.name || '/'}" already has a child "${name}"`);
    }
    const c = new FdtNode(name);
    this.children.push(c);
    return c;
  }

  /** Find a descendant by a path relative to this node ("soc/serial@10000000"). */
  find(path: string): FdtNode | undefined {
    let node: FdtNode | undefined = this;
    for (const part of path.split('/').filter((p) => p !== '')) {
      node = node.children.find((c) => c.name === part);
      if (!node) return undefined;
    }
    return node;
  }
}

/** Hands out phandles 1, 2, 3 ... and records them on the node. */
export class PhandleAllocator {
  private next = 1;

  assign(node: FdtNode): number {
    const ph = this.next++;
    node.propCells('phandle', ph);
    return ph;
  }
}
