/**
 * Interrupt lines. A device raises or lowers a numbered wired line; whatever
 * sits behind the sink (the PLIC on this node, or later a proxy that forwards
 * level changes to the master PLIC on node 0) decides what that means.
 * Lines are level-triggered, as on QEMU virt.
 */

export interface IrqSink {
  setLevel(irq: number, level: boolean): void;
}

/**
 * One device's output line. It remembers the level it last drove so the sink
 * only hears changes: a remote sink turns each call into a message.
 */
export class IrqLine {
  private level = false;

  constructor(
    private readonly sink: IrqSink,
    readonly irq: number,
  ) {}

  set(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    this.sink.setLevel(this.irq, level);
  }

  get isHigh(): boolean {
    return this.level;
  }
}
