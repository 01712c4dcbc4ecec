// The platform's I/O devices, all deterministic: time is retired
// instructions.
//   0xE9        debug console (a byte written is output)
//   0xF4        exit (as QEMU isa-debug-exit: code = (value << 1) | 1)
//   0x40, 0x43  PIT-like timer: channel 0 in mode 2 (rate generator); the
//               reload value is written low byte then high byte to 0x40
//               after a control word on 0x43; it counts retired instructions
//               and raises IRQ 0 each time it reaches zero (0 means 65536).
//   0x20/0x21,  8259-like PICs (master, slave on IRQ 2): ICW1..ICW4 init
//   0xA0/0xA1   sequence, IMR via the data port, non-specific EOI (0x20),
//               IRR/ISR, OCW3 reads of IRR/ISR.

export class Pic {
  irr = 0; isr = 0; imr = 0xff; vectorBase = 0;
  /** Initialisation step: 0 = ready, 2..4 = expecting ICW2..ICW4. */
  initStep = 0; needIcw4 = false; single = false; readIsr = false;

  writeCommand(value: number): void {
    if (value & 0x10) { // ICW1
      this.initStep = 2; this.needIcw4 = (value & 1) !== 0; this.single = (value & 2) !== 0;
      this.imr = 0; this.isr = 0; this.irr = 0; this.readIsr = false;
    } else if ((value & 0x18) === 0x08) { // OCW3
      if (value & 2) this.readIsr = (value & 1) !== 0;
    } else if (value & 0x20) { // OCW2: EOI
      if (value & 0x40) this.isr &= ~(1 << (value & 7)); // specific EOI
      else this.isr &= this.isr - 1; // non-specific: the highest-priority (lowest) line
    }
  }
  writeData(value: number): void {
    if (this.initStep === 2) { this.vectorBase = value & 0xf8; this.initStep = this.single ? (this.needIcw4 ? 4 : 0) : 3; }
    else if (this.initStep === 3) { this.initStep = this.needIcw4 ? 4 : 0; }
    else if (this.initStep === 4) { this.initStep = 0; }
    else this.imr = value & 0xff;
  }
  readCommand(): number { return this.readIsr ? this.isr : this.irr; }
  readData(): number { return this.imr; }
  /** Highest-priority requested, unmasked line not blocked by a higher one in service; -1 if none. */
  pending(): number {
    const ready = this.irr & ~this.imr & 0xff;
    if (!ready) return -1;
    const line = 31 - Math.clz32(ready & -ready);
    const inService = this.isr ? 31 - Math.clz32(this.isr & -this.isr) : 8;
    return line < inService ? line : -1;
  }
}

export class Devices {
  readonly console: number[] = [];
  exitCode: number | null = null;
  readonly master = new Pic();
  readonly slave = new Pic();
  timerReload = 0x10000; timerCount = 0x10000; timerRunning = false;
  /** Channel 0's control word: access (1 low byte, 2 high byte, 3 low then high) and mode (2, 3 periodic; others one-shot). */
  timerAccess = 3; timerMode = 2;
  /** Access mode 3: the low byte written, waiting for the high byte; the next read returns the high byte. */
  timerLow: number | null = null; timerReadHigh = false;

  /** Advance the timer by one retired instruction (IO.PIT.3). */
  tick(): void {
    if (!this.timerRunning) return;
    if (--this.timerCount <= 0) {
      this.master.irr |= 1;
      if (this.timerMode === 2 || this.timerMode === 3) this.timerCount = this.timerReload;
      else { this.timerCount = 0; this.timerRunning = false; }
    }
  }

  private startTimer(reload: number): void {
    this.timerReload = reload === 0 ? 0x10000 : reload;
    this.timerCount = this.timerReload;
    this.timerRunning = true;
    this.timerLow = null;
  }

  in(port: number, size: number): number {
    let value: number;
    switch (port) {
      case 0x20: value = this.master.readCommand(); break;
      case 0x21: value = this.master.readData(); break;
      case 0xa0: value = this.slave.readCommand(); break;
      case 0xa1: value = this.slave.readData(); break;
      case 0x40: {
        const counter = this.timerCount & 0xffff;
        if (this.timerAccess === 1) value = counter & 0xff;
        else if (this.timerAccess === 2) value = counter >>> 8;
        else { value = this.timerReadHigh ? counter >>> 8 : counter & 0xff; this.timerReadHigh = !this.timerReadHigh; }
        break;
      }
      default: value = 0xffffffff; // nothing answers: the bus floats high
    }
    return size === 4 ? value >>> 0 : value & (size === 1 ? 0xff : 0xffff);
  }

  out(port: number, size: number, value: number): void {
    switch (port) {
      case 0xe9: this.console.push(value & 0xff); break;
      case 0xf4: this.exitCode = ((value & (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff)) * 2 + 1) >>> 0; break;
      case 0x20: this.master.writeCommand(value & 0xff); break;
      case 0x21: this.master.writeData(value & 0xff); break;
      case 0xa0: this.slave.writeCommand(value & 0xff); break;
      case 0xa1: this.slave.writeData(value & 0xff); break;
      case 0x43: {
        // Channel 0 only; other channels, read-back and counter latch are ignored.
        // A control word stops channel 0 until its reload value is written (IO.PIT.2).
        const access = (value >>> 4) & 3;
        if ((value & 0xc0) !== 0 || access === 0) break;
        this.timerAccess = access; this.timerMode = (value >>> 1) & 7;
        this.timerLow = null; this.timerReadHigh = false; this.timerRunning = false;
        break;
      }
      case 0x40: {
        const byte = value & 0xff;
        if (this.timerAccess === 1) this.startTimer(byte);
        else if (this.timerAccess === 2) this.startTimer(byte << 8);
        else if (this.timerLow === null) this.timerLow = byte;
        else this.startTimer(this.timerLow | (byte << 8));
        break;
      }
    }
  }

  /** Vector of the interrupt the PICs would deliver now, or -1. */
  pendingVector(): number {
    const slaveLine = this.slave.pending();
    if (slaveLine >= 0) this.master.irr |= 4; else this.master.irr &= ~4;
    const line = this.master.pending();
    if (line < 0) return -1;
    if (line === 2 && slaveLine >= 0) return this.slave.vectorBase + slaveLine;
    return this.master.vectorBase + line;
  }

  /** The CPU acknowledges the pending interrupt (INTA): IRR -> ISR. */
  acknowledge(): void {
    const line = this.master.pending();
    if (line < 0) return;
    this.master.irr &= ~(1 << line);
    this.master.isr |= 1 << line;
    if (line === 2) {
      const slaveLine = this.slave.pending();
      if (slaveLine >= 0) { this.slave.irr &= ~(1 << slaveLine); this.slave.isr |= 1 << slaveLine; }
    }
  }
}
