// The platform's I/O devices, all deterministic: time is retired
// instructions (one PIT input tick per instruction; spec/io.md).
//   0xE9        debug console (a byte written is output)
//   0xF4        exit (as QEMU isa-debug-exit: code = (value << 1) | 1)
//   0x40..0x43  i8254 PIT: channel 0 drives IRQ 0 (counted down per
//               retired instruction); channel 2 is computed from the clock
//               when read; latch and read-back commands
//   0x61        port B: channel 2 gate (bit 0), speaker (bit 1), refresh
//               toggle (bit 4), channel 2 output (bit 5)
//   0x20/0x21,  8259A PICs (master, slave on IRQ 2): ICW1..ICW4 init
//   0xA0/0xA1   sequence, IMR via the data port, specific and non-specific
//               EOI, OCW3 reads of IRR/ISR
//   0x70/0x71   CMOS RTC with a fixed date
//   0x3F8..3FF  16550A UART (IRQ 4), transmitting instantly to the console
//   0x80        POST/delay port: writes dropped

export class Pic {
  irr = 0; isr = 0; imr = 0xff; vectorBase = 0;
  /** Initialisation step: 0 = ready, 2..4 = expecting ICW2..ICW4. */
  initStep = 0; needIcw4 = false; single = false; readIsr = false;
  /** ICW4 bit 1, automatic EOI: an acknowledged line does not stay in service. */
  autoEoi = false;

  writeCommand(value: number): void {
    if (value & 0x10) { // ICW1
      this.initStep = 2; this.needIcw4 = (value & 1) !== 0; this.single = (value & 2) !== 0;
      this.imr = 0; this.isr = 0; this.irr = 0; this.readIsr = false; this.autoEoi = false;
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
    else if (this.initStep === 4) { this.initStep = 0; this.autoEoi = (value & 2) !== 0; }
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

const period = (reload: number): number => (reload === 0 ? 0x10000 : reload);
const periodic = (mode: number): boolean => (mode & 3) === 2 || (mode & 3) === 3;

/** PIT channel 2: no interrupt, so its count is computed from the clock when read. */
class Channel2 {
  reload = 0; mode = 0; access = 3; pendingLow = -1; readHigh = false; latched = -1;
  loaded = false; startCount = 0x10000; since = 0; outAtSince = false; gate = false;

  private counted(clock: number): number { return this.gate && this.loaded ? clock - this.since : 0; }
  count(clock: number): number {
    const e = this.counted(clock);
    if (periodic(this.mode)) {
      const p = period(this.reload);
      return ((((this.startCount - 1 - e) % p) + p) % p) + 1 & 0xffff;
    }
    return (((this.startCount - e) % 0x10000) + 0x10000) % 0x10000;
  }
  out(clock: number): boolean {
    if (!periodic(this.mode)) return this.outAtSince || (this.loaded && this.gate && this.counted(clock) >= this.startCount);
    const count = this.count(clock) || 0x10000;
    return (this.mode & 3) === 2 ? count !== 1 : count > period(this.reload) / 2;
  }
  latch(clock: number): void {
    if (this.latched < 0) { this.latched = this.count(clock); this.readHigh = false; }
  }
  control(clock: number, value: number): void {
    const access = (value >>> 4) & 3;
    if (access === 0) { this.latch(clock); return; }
    const start = this.count(clock) || 0x10000;
    this.access = access; this.mode = (value >>> 1) & 7; this.pendingLow = -1; this.readHigh = false; this.latched = -1;
    this.loaded = false; this.outAtSince = periodic(this.mode); this.since = clock; this.startCount = start;
  }
  write(clock: number, value: number): void {
    const byte = value & 0xff;
    let reload: number;
    if (this.access === 1) reload = byte;
    else if (this.access === 2) reload = byte << 8;
    else if (this.pendingLow < 0) { this.pendingLow = byte; return; }
    else reload = this.pendingLow | (byte << 8);
    this.reload = reload; this.pendingLow = -1; this.loaded = true;
    this.startCount = period(reload); this.since = clock; this.outAtSince = periodic(this.mode);
  }
  setGate(clock: number, gate: boolean): void {
    if (gate === this.gate) return;
    if (!gate) {
      this.startCount = this.count(clock) || 0x10000; this.outAtSince = this.out(clock); this.since = clock; this.gate = false;
      return;
    }
    this.gate = true; this.since = clock;
    if (this.mode !== 0 && this.loaded) { this.startCount = period(this.reload); this.outAtSince = periodic(this.mode); }
  }
  read(clock: number): number {
    const count = this.latched >= 0 ? this.latched : this.count(clock);
    if (this.access === 1) { this.latched = -1; return count & 0xff; }
    if (this.access === 2) { this.latched = -1; return count >>> 8; }
    if (this.readHigh) { this.readHigh = false; this.latched = -1; return count >>> 8; }
    this.readHigh = true;
    return count & 0xff;
  }
}

/** The 16550A of COM1 (0x3F8, IRQ 4); bytes sent go to the console at once. */
class Uart {
  ier = 0; lcr = 0; mcr = 0; scratch = 0; dll = 0x0c; dlm = 0; fifoEnabled = false;
  threPending = false; irqLine = false;

  constructor(private readonly devices: Devices) {}

  /** Recompute the IRQ line; a rising edge requests IRQ 4 at the master PIC. */
  private settle(): void {
    const level = this.threPending && (this.ier & 2) !== 0 && (this.mcr & 0x18) === 0x08; // OUT2 set, loopback off
    if (level && !this.irqLine) this.devices.master.irr |= 1 << 4;
    this.irqLine = level;
  }
  read(offset: number): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (offset) {
      case 0: return dlab ? this.dll : 0;
      case 1: return dlab ? this.dlm : this.ier;
      case 2: {
        const fifo = this.fifoEnabled ? 0xc0 : 0;
        if (this.threPending && this.ier & 2) { this.threPending = false; this.settle(); return fifo | 0x02; }
        return fifo | 0x01;
      }
      case 3: return this.lcr;
      case 4: return this.mcr;
      case 5: return 0x60;
      case 6: {
        const m = this.mcr;
        return m & 0x10 ? ((m & 2) << 3) | ((m & 1) << 5) | ((m & 4) << 4) | ((m & 8) << 4) : 0xb0;
      }
      default: return this.scratch;
    }
  }
  write(offset: number, value: number): void {
    const dlab = (this.lcr & 0x80) !== 0;
    const byte = value & 0xff;
    switch (offset) {
      case 0:
        if (dlab) { this.dll = byte; return; }
        if (!(this.mcr & 0x10)) this.devices.console.push(byte);
        this.threPending = false; this.settle(); // the line drops while the byte is in the transmitter
        this.threPending = (this.ier & 2) !== 0; this.settle(); // and rises when it has gone
        return;
      case 1: {
        if (dlab) { this.dlm = byte; return; }
        const ier = byte & 0x0f;
        if ((ier ^ this.ier) & 2) this.threPending = (ier & 2) !== 0;
        this.ier = ier; this.settle();
        return;
      }
      case 2: this.fifoEnabled = (byte & 1) !== 0; return;
      case 3: this.lcr = byte; return;
      case 4: this.mcr = byte & 0x1f; this.settle(); return;
      case 7: this.scratch = byte; return;
      default: // LSR, MSR: read-only
    }
  }
}

const bcd = (n: number): number => ((Math.floor(n / 10) % 10) << 4) | (n % 10);

/** A date and time of day for the RTC (UTC; the clock never ticks). */
export interface ClockDate { year: number; month: number; day: number; hour: number; minute: number; second: number }

/** The CMOS RAM at reset with the clock showing `date` (default 2026-01-01
 * 00:00:00, a Thursday). The day of the week comes from the host's calendar
 * (Date.getUTCDay), not from the model's formula, so the two are checked
 * against each other. */
function cmosAtReset(date: ClockDate = { year: 2026, month: 1, day: 1, hour: 0, minute: 0, second: 0 }): Uint8Array {
  const ram = new Uint8Array(128);
  const utc = new Date(0);
  utc.setUTCFullYear(date.year, date.month - 1, date.day);
  ram[0x00] = bcd(date.second); ram[0x02] = bcd(date.minute); ram[0x04] = bcd(date.hour);
  ram[0x06] = utc.getUTCDay() + 1; ram[0x07] = bcd(date.day); ram[0x08] = bcd(date.month);
  ram[0x09] = bcd(date.year % 100); ram[0x32] = bcd(Math.floor(date.year / 100));
  ram[0x0a] = 0x26; ram[0x0b] = 0x02; ram[0x0d] = 0x80;
  return ram;
}

export class Devices {
  readonly console: number[] = [];
  exitCode: number | null = null;
  readonly master = new Pic();
  readonly slave = new Pic();
  /** Channel 0: ticks until IRQ 0 (blocks and HLT read and move these directly). */
  timerReload = 0x10000; timerCount = 0x10000; timerRunning = false;
  private timerMode = 2; private timerAccess = 3; private timerLow = -1; private timerReadHigh = false;
  private timerLatched = -1; private timerStatus = -1;
  private readonly channel2 = new Channel2();
  private portB = 0;
  private readonly uart = new Uart(this);
  private cmos = cmosAtReset();
  private cmosIndex = 0;
  /** Set the RTC to `date`, as at reset (the machine's configuration, IO.RTC.1). */
  setRtc(date: ClockDate): void { this.cmos = cmosAtReset(date); }
  /** The 128 CMOS bytes (for tests). */
  cmosBytes(): Uint8Array { return this.cmos.slice(); }
  /** Ticks that passed in HLT without an instruction (the clock is instructions + these). */
  idleTicks = 0;
  /** Retired instructions so far (set by the Cpu that owns these devices). */
  instructions: () => number = () => 0;

  private clock(): number { return this.instructions() + this.idleTicks; }

  /** Advance the timer by one retired instruction. */
  tick(): void {
    if (!this.timerRunning) return;
    if (--this.timerCount <= 0) {
      this.master.irr |= 1;
      if (periodic(this.timerMode)) this.timerCount = this.timerReload;
      else { this.timerCount = 0; this.timerRunning = false; } // one-shot: stopped at terminal count
    }
  }

  private timerReadByte(): number {
    if (this.timerStatus >= 0) { const s = this.timerStatus; this.timerStatus = -1; return s; }
    const count = (this.timerLatched >= 0 ? this.timerLatched : this.timerCount) & 0xffff;
    if (this.timerAccess === 1) { this.timerLatched = -1; return count & 0xff; }
    if (this.timerAccess === 2) { this.timerLatched = -1; return count >>> 8; }
    if (this.timerReadHigh) { this.timerReadHigh = false; this.timerLatched = -1; return count >>> 8; }
    this.timerReadHigh = true;
    return count & 0xff;
  }

  private timerControl(value: number): void {
    const channel = value >>> 6, access = (value >>> 4) & 3;
    if (channel === 3) { // read-back
      if (value & 2) {
        if ((value & 0x20) === 0 && this.timerLatched < 0) this.timerLatched = this.timerCount & 0xffff;
        if ((value & 0x10) === 0 && this.timerStatus < 0) {
          const out = this.timerMode === 0 ? !this.timerRunning && this.timerCount === 0 : true;
          const nullCount = !this.timerRunning && this.timerCount !== 0;
          this.timerStatus = (out ? 0x80 : 0) | (nullCount ? 0x40 : 0) | (this.timerAccess << 4) | (this.timerMode << 1);
        }
        this.timerReadHigh = false;
      }
      if (value & 8 && (value & 0x20) === 0) this.channel2.latch(this.clock());
      return;
    }
    if (channel === 2) { this.channel2.control(this.clock(), value); return; }
    if (channel === 1) return;
    if (access === 0) { if (this.timerLatched < 0) { this.timerLatched = this.timerCount & 0xffff; this.timerReadHigh = false; } return; }
    this.timerAccess = access; this.timerMode = (value >>> 1) & 7;
    this.timerLow = -1; this.timerReadHigh = false; this.timerRunning = false; this.timerLatched = -1; this.timerStatus = -1;
  }

  private timerWrite(value: number): void {
    const byte = value & 0xff;
    let reload: number;
    if (this.timerAccess === 1) reload = byte;
    else if (this.timerAccess === 2) reload = byte << 8;
    else if (this.timerLow < 0) { this.timerLow = byte; return; }
    else reload = this.timerLow | (byte << 8);
    this.timerLow = -1; this.timerStatus = -1;
    this.timerReload = period(reload);
    this.timerCount = this.timerReload;
    this.timerRunning = true;
  }

  in(port: number, size: number): number {
    let value: number;
    switch (port) {
      case 0x20: value = this.master.readCommand(); break;
      case 0x21: value = this.master.readData(); break;
      case 0xa0: value = this.slave.readCommand(); break;
      case 0xa1: value = this.slave.readData(); break;
      case 0x40: value = this.timerReadByte(); break;
      case 0x42: value = this.channel2.read(this.clock()); break;
      case 0x61: {
        const clock = this.clock();
        value = (this.portB & 0x0f) | (((clock >>> 4) & 1) << 4) | (this.channel2.out(clock) ? 0x20 : 0);
        break;
      }
      case 0x70: value = 0xff; break;
      case 0x71: value = this.cmos[this.cmosIndex]!; break;
      default:
        if (port >= 0x3f8 && port < 0x400) { value = this.uart.read(port - 0x3f8); break; }
        value = 0xffffffff; // nothing answers: the bus floats high
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
      case 0x43: this.timerControl(value & 0xff); break;
      case 0x40: this.timerWrite(value); break;
      case 0x42: this.channel2.write(this.clock(), value); break;
      case 0x61: this.portB = value & 0x0f; this.channel2.setGate(this.clock(), (value & 1) !== 0); break;
      case 0x70: this.cmosIndex = value & 0x7f; break;
      case 0x71:
        if (this.cmosIndex !== 0x0c && this.cmosIndex !== 0x0d) this.cmos[this.cmosIndex] = this.cmosIndex === 0x0a ? value & 0x7f : value & 0xff;
        break;
      default:
        if (port >= 0x3f8 && port < 0x400) this.uart.write(port - 0x3f8, value);
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

  /** The CPU acknowledges the pending interrupt (INTA): IRR -> ISR (not with automatic EOI). */
  acknowledge(): void {
    const line = this.master.pending();
    if (line < 0) return;
    this.master.irr &= ~(1 << line);
    if (!this.master.autoEoi) this.master.isr |= 1 << line;
    if (line === 2) {
      const slaveLine = this.slave.pending();
      if (slaveLine >= 0) { this.slave.irr &= ~(1 << slaveLine); if (!this.slave.autoEoi) this.slave.isr |= 1 << slaveLine; }
    }
  }
}
