// The devices of the mesovirt PC: a debug console, an exit port, the i8254
// timer (channels 0 and 2, port 0x61), the 8259A interrupt controller pair,
// a 16550A UART (uart.ts) and the CMOS RTC (cmos.ts). Time is counted in
// retired instructions, so a run is a function of its image alone.
import { match } from 'ts-pattern';
import { initialUart, uartRead, uartWrite, UART_BASE, UART_IRQ, type Uart } from './uart';
import { cmosRead, cmosWrite, initialCmos, type Cmos } from './cmos';

/** Console bytes as a persistent list, newest first (appending is O(1)). */
export type ConsoleLog = { readonly byte: number; readonly previous: ConsoleLog } | null;

export interface Pic {
  /** Interrupt request register: lines that have raised a request. */
  readonly irr: number;
  /** In-service register: requests acknowledged and not yet ended by EOI. */
  readonly isr: number;
  /** Interrupt mask register: set bits block their line. */
  readonly imr: number;
  /** Vector of line 0 (ICW2, a multiple of 8). */
  readonly vectorBase: number;
  /** Initialisation progress: 0 ready, 2 expects ICW2, 3 ICW3, 4 ICW4. */
  readonly expect: 0 | 2 | 3 | 4;
  readonly needIcw4: boolean;
  readonly single: boolean;
  /** OCW3 selection for reads of the command port. */
  readonly readIsr: boolean;
  /** ICW4 bit 1: acknowledging a request does not put it in service (IO.PIC.8). */
  readonly autoEoi: boolean;
}

export interface Pit {
  /** Reload value of channel 0 (0 means 65536). */
  readonly reload: number;
  /** Instructions left until the next IRQ 0. */
  readonly counter: number;
  /** Mode from the control word (0: one-shot; 2 and 3: periodic). */
  readonly mode: number;
  /** Access mode: 1 low byte, 2 high byte, 3 low then high. */
  readonly access: number;
  /** In access mode 3, the low byte written and waiting for the high byte. */
  readonly pendingLow: number | null;
  /** In access mode 3, the next read returns the high byte. */
  readonly readHigh: boolean;
  readonly running: boolean;
  /** A count latched by a latch command or read-back (read before the live count). */
  readonly latched: number | null;
  /** A status byte latched by read-back (read before anything else). */
  readonly status: number | null;
}

/** PIT channel 2, computed from the clock when read (it raises no interrupt). */
export interface Channel2 {
  readonly reload: number;
  readonly mode: number;
  readonly access: number;
  readonly pendingLow: number | null;
  readonly readHigh: boolean;
  readonly latched: number | null;
  /** A count has been written since the last control word. */
  readonly loaded: boolean;
  /** The count and output at clock `since`, from which the channel counts on while its gate is high. */
  readonly startCount: number;
  readonly since: number;
  readonly outAtSince: boolean;
  /** Gate input: port 0x61 bit 0. */
  readonly gate: boolean;
}

export interface Devices {
  readonly console: ConsoleLog;
  /** Set by a write to the exit port: (value << 1) | 1 as QEMU's isa-debug-exit. */
  readonly exitCode: number | null;
  readonly pit: Pit;
  readonly master: Pic;
  readonly slave: Pic;
  /** [IO.CLOCK.1] PIT input ticks skipped while the processor waited in HLT.
   * The clock is not kept: it is the instructions retired plus these
   * (clockAt), so an instruction that retires changes no device unless the
   * timer runs. */
  readonly idleTicks: number;
  readonly channel2: Channel2;
  /** Port 0x61 bits 0..3 as last written (bit 0: channel 2 gate, bit 1: speaker). */
  readonly portB: number;
  readonly uart: Uart;
  readonly cmos: Cmos;
}

/** `{ ...devices, ...changes }`, written out field by field for speed, as
 * update() in state.ts (time advances the devices after every instruction). */
function updateDevices(devices: Devices, changes: Partial<Devices>): Devices {
  const d = devices;
  const copy: { -readonly [K in keyof Devices]: Devices[K] } = {
    console: d.console, exitCode: d.exitCode, pit: d.pit, master: d.master, slave: d.slave,
    idleTicks: d.idleTicks, channel2: d.channel2, portB: d.portB, uart: d.uart, cmos: d.cmos,
  };
  return Object.assign(copy, changes);
}

/** `updateDevices(devices, { pit })`, the change of every tick while the
 * timer runs, written out in full (as updateResult in state.ts). */
function withPit(devices: Devices, pit: Pit): Devices {
  const d = devices;
  return { console: d.console, exitCode: d.exitCode, pit, master: d.master, slave: d.slave, idleTicks: d.idleTicks, channel2: d.channel2, portB: d.portB, uart: d.uart, cmos: d.cmos };
}

/** [IO.CLOCK.1] The clock when `retired` instructions have retired: one tick
 * per instruction, plus the ticks skipped in HLT. */
export function clockAt(devices: Devices, retired: number): number {
  return retired + devices.idleTicks;
}

/** `{ ...pit, ...changes }`, the same way. */
function updatePit(pit: Pit, changes: Partial<Pit>): Pit {
  const p = pit;
  const copy: { -readonly [K in keyof Pit]: Pit[K] } = {
    reload: p.reload, counter: p.counter, mode: p.mode, access: p.access, pendingLow: p.pendingLow,
    readHigh: p.readHigh, running: p.running, latched: p.latched, status: p.status,
  };
  return Object.assign(copy, changes);
}

export const CONSOLE_PORT = 0xe9;
export const EXIT_PORT = 0xf4;
export const PIT_CHANNEL0_PORT = 0x40;
export const PIT_CHANNEL2_PORT = 0x42;
export const PIT_CONTROL_PORT = 0x43;
export const PORT_B = 0x61;
export const POST_PORT = 0x80;
export const MASTER_PIC_PORT = 0x20;
export const SLAVE_PIC_PORT = 0xa0;

/** [IO.PIC.1] After reset each controller is uninitialised with every line
 * masked and the PC BIOS vector bases (0x08 master, 0x70 slave): a guest
 * must program the PIC before it sees an interrupt. The choice of IMR = 0xFF
 * is ours (a BIOS would leave some lines open). */
function resetPic(vectorBase: number): Pic {
  return { irr: 0, isr: 0, imr: 0xff, vectorBase, expect: 0, needIcw4: false, single: false, readIsr: false, autoEoi: false };
}

/** [IO.PIT.1] The timer starts stopped; it counts only after a reload value is written. */
export const initialDevices: Devices = {
  console: null,
  exitCode: null,
  pit: { reload: 0, counter: 0, mode: 2, access: 3, pendingLow: null, readHigh: false, running: false, latched: null, status: null },
  master: resetPic(0x08),
  slave: resetPic(0x70),
  idleTicks: 0,
  channel2: { reload: 0, mode: 0, access: 3, pendingLow: null, readHigh: false, latched: null, loaded: false, startCount: 0x10000, since: 0, outAtSince: false, gate: false },
  portB: 0,
  uart: initialUart,
  cmos: initialCmos,
};

export function consoleBytes(log: ConsoleLog): Uint8Array {
  const bytes: number[] = [];
  for (let l = log; l !== null; l = l.previous) bytes.push(l.byte);
  return Uint8Array.from(bytes.reverse());
}

const sizeMask = (size: 8 | 16 | 32): number => (size === 32 ? 0xffffffff : (1 << size) - 1);

// ---------------------------------------------------------------- PIC

function picWriteCommand(pic: Pic, value: number): Pic {
  if (value & 0x10) {
    // [IO.PIC.2] ICW1 starts initialisation: it clears IMR, ISR and IRR and
    // the next data-port writes are ICW2 (vector base), ICW3 unless single
    // (bit 1), ICW4 if bit 0 asks for it.
    return { ...pic, irr: 0, isr: 0, imr: 0, expect: 2, needIcw4: (value & 1) !== 0, single: (value & 2) !== 0, readIsr: false, autoEoi: false };
  }
  if (value & 0x08) {
    // OCW3: bit 1 set selects IRR (bit 0 = 0) or ISR (bit 0 = 1) for reads.
    return value & 0x02 ? { ...pic, readIsr: (value & 1) !== 0 } : pic;
  }
  // [IO.PIC.3] OCW2 with EOI (bit 5): a specific EOI (bit 6) ends the
  // request of line bits 2..0; a non-specific one ends the highest-priority
  // request in service (lowest line number, fixed priority).
  if ((value & 0x20) === 0) return pic;
  if (value & 0x40) return { ...pic, isr: pic.isr & ~(1 << (value & 7)) };
  return { ...pic, isr: pic.isr & (pic.isr - 1) };
}

function picWriteData(pic: Pic, value: number): Pic {
  return match(pic.expect)
    .with(2, () => ({ ...pic, vectorBase: value & 0xf8, expect: pic.single ? (pic.needIcw4 ? 4 : 0) : 3 } as Pic))
    // [IO.PIC.7] ICW3 is taken and its contents ignored: the cascade is
    // fixed on master line 2. Of ICW4 only bit 1 counts.
    .with(3, () => ({ ...pic, expect: pic.needIcw4 ? 4 : 0 } as Pic))
    // [IO.PIC.8] ICW4 bit 1 selects automatic EOI.
    .with(4, () => ({ ...pic, expect: 0, autoEoi: (value & 2) !== 0 } as Pic))
    // [IO.PIC.4] Outside initialisation a data-port write sets the mask.
    .with(0, () => ({ ...pic, imr: value & 0xff }))
    .exhaustive();
}

/** Lowest pending unmasked line whose priority beats everything in service, or -1. */
function picHighestRequest(pic: Pic): number {
  const requests = pic.irr & ~pic.imr & 0xff;
  for (let line = 0; line < 8; line++) {
    if (pic.isr & (1 << line)) return -1; // a line in service blocks it and all lower priorities
    if (requests & (1 << line)) return line;
  }
  return -1;
}

/** Raise an interrupt request line 0..15 (8..15 on the slave). Edge-triggered. */
export function raiseIrq(devices: Devices, line: number): Devices {
  if (line < 8) return updateDevices(devices, { master: { ...devices.master, irr: devices.master.irr | (1 << line) } });
  return updateDevices(devices, { slave: { ...devices.slave, irr: devices.slave.irr | (1 << (line - 8)) } });
}

/** [IO.PIC.5] The master sees a pending slave request as a request on line 2. */
function masterView(devices: Devices): Pic {
  const slavePending = picHighestRequest(devices.slave) >= 0;
  return slavePending ? { ...devices.master, irr: devices.master.irr | 4 } : devices.master;
}

/** Whether the PIC asks the processor for an interrupt (before IF). */
export function interruptPending(devices: Devices): boolean {
  return picHighestRequest(masterView(devices)) >= 0;
}

/** [IO.PIC.6] Interrupt acknowledge: the highest request moves from IRR to
 * ISR and its vector (base + line) is returned. Auto-EOI is not modelled. */
export function acknowledgeInterrupt(devices: Devices): { vector: number; devices: Devices } | null {
  const master = masterView(devices);
  const line = picHighestRequest(master);
  if (line < 0) return null;
  const bit = 1 << line;
  if (line === 2 && !devices.master.single && picHighestRequest(devices.slave) >= 0) {
    const slaveLine = picHighestRequest(devices.slave);
    const sbit = 1 << slaveLine;
    return {
      vector: (devices.slave.vectorBase + slaveLine) & 0xff,
      devices: {
        ...devices,
        master: acknowledged(devices.master, bit),
        slave: acknowledged(devices.slave, sbit),
      },
    };
  }
  return {
    vector: (devices.master.vectorBase + line) & 0xff,
    devices: updateDevices(devices, { master: acknowledged(devices.master, bit) }),
  };
}

/** [IO.PIC.6] [IO.PIC.8] The acknowledged line leaves IRR and goes into
 * service, unless the controller ends it at once (automatic EOI). */
function acknowledged(pic: Pic, bit: number): Pic {
  return { ...pic, irr: pic.irr & ~bit, isr: pic.autoEoi ? pic.isr : pic.isr | bit };
}

// ---------------------------------------------------------------- PIT

/** The status byte of read-back for channel 0: OUT (bit 7; high except a
 * mode-0 count still running), null count (bit 6: no count written since
 * the control word), access, mode. */
function pitStatus(pit: Pit): number {
  const out = pit.mode === 0 ? !pit.running && pit.counter === 0 : true;
  const nullCount = !pit.running && pit.counter !== 0;
  return (out ? 0x80 : 0) | (nullCount ? 0x40 : 0) | (pit.access << 4) | (pit.mode << 1);
}

function pitWriteControl(devices: Devices, value: number, clock: number): Devices {
  const pit = devices.pit;
  const channel = value >>> 6;
  const access = (value >>> 4) & 3;
  if (channel === 3) {
    // [IO.PIT.5] Read-back (0b11 in bits 7..6): bit 1 selects channel 0, bit 3
    // channel 2; bit 5 clear latches the counts, bit 4 clear latches channel
    // 0's status. A second latch before the first is read is ignored.
    let d = devices;
    if (value & 2) {
      const latched = (value & 0x20) === 0 && pit.latched === null ? pit.counter & 0xffff : pit.latched;
      const status = (value & 0x10) === 0 && pit.status === null ? pitStatus(pit) : pit.status;
      d = updateDevices(d, { pit: updatePit(pit, { latched, status, readHigh: false }) });
    }
    if (value & 8 && (value & 0x20) === 0 && d.channel2.latched === null) {
      d = updateDevices(d, { channel2: { ...d.channel2, latched: channel2Count(d.channel2, clock), readHigh: false } });
    }
    return d;
  }
  if (channel === 2) return updateDevices(devices, { channel2: channel2Control(devices.channel2, clock, value) });
  if (channel === 1) return devices; // channel 1 (DRAM refresh) is not there
  // [IO.PIT.4] A counter-latch command (access 0) freezes the count for the
  // next reads of port 0x40, the low byte first in access mode 3.
  if (access === 0) return pit.latched === null ? updateDevices(devices, { pit: updatePit(pit, { latched: pit.counter & 0xffff, readHigh: false }) }) : devices;
  // [IO.PIT.2] A control word stops channel 0 until its reload value is written.
  return updateDevices(devices, { pit: updatePit(pit, { access, mode: (value >>> 1) & 7, pendingLow: null, readHigh: false, running: false, latched: null, status: null }) });
}

// ---------------------------------------------------------------- PIT channel 2

const period = (reload: number): number => (reload === 0 ? 0x10000 : reload);
const periodic = (mode: number): boolean => (mode & 3) === 2 || (mode & 3) === 3;

/** Ticks counted since `since` (none while the gate is low or no count is loaded). */
const counted = (c: Channel2, clock: number): number => (c.gate && c.loaded ? clock - c.since : 0);

/** [IO.PIT.6] Channel 2's count at `clock`: one-shot modes (0, 1, 4, 5)
 * count down from the loaded value and wrap past zero; periodic modes (2,
 * 3) count from the reload value down to 1 and reload. */
export function channel2Count(c: Channel2, clock: number): number {
  const e = counted(c, clock);
  if (periodic(c.mode)) {
    const p = period(c.reload);
    return ((((c.startCount - 1 - e) % p) + p) % p) + 1 & 0xffff;
  }
  return ((((c.startCount - e) % 0x10000) + 0x10000) % 0x10000);
}

/** [IO.PIT.6] Channel 2's output: in one-shot modes low after the count is
 * written and high from terminal count on; in mode 2 high except on the
 * count of 1; in mode 3 high during the first half of each period. */
export function channel2Out(c: Channel2, clock: number): boolean {
  if (!periodic(c.mode)) return c.outAtSince || (c.loaded && c.gate && counted(c, clock) >= c.startCount);
  const count = channel2Count(c, clock) || 0x10000;
  return (c.mode & 3) === 2 ? count !== 1 : count > period(c.reload) / 2;
}

function channel2Control(c: Channel2, clock: number, value: number): Channel2 {
  const access = (value >>> 4) & 3;
  if (access === 0) return c.latched === null ? { ...c, latched: channel2Count(c, clock), readHigh: false } : c;
  const mode = (value >>> 1) & 7;
  return { ...c, access, mode, pendingLow: null, readHigh: false, latched: null, loaded: false, outAtSince: periodic(mode), since: clock, startCount: channel2Count(c, clock) || 0x10000 };
}

function channel2WriteCount(c: Channel2, clock: number, value: number): Channel2 {
  const byte = value & 0xff;
  const start = (reload: number): Channel2 => ({
    ...c, reload, pendingLow: null, loaded: true, startCount: period(reload), since: clock, outAtSince: periodic(c.mode),
  });
  if (c.access === 1) return start(byte);
  if (c.access === 2) return start(byte << 8);
  if (c.pendingLow === null) return { ...c, pendingLow: byte };
  return start(c.pendingLow | (byte << 8));
}

/** [IO.PIT.7] The gate (port 0x61 bit 0): low stops the count where it is;
 * a rising edge resumes it in mode 0 and restarts it from the reload value
 * in the other modes. */
function channel2Gate(c: Channel2, clock: number, gate: boolean): Channel2 {
  if (gate === c.gate) return c;
  if (!gate) return { ...c, gate, startCount: channel2Count(c, clock) || 0x10000, outAtSince: channel2Out(c, clock), since: clock };
  if (c.mode === 0 || !c.loaded) return { ...c, gate, since: clock };
  return { ...c, gate, since: clock, startCount: period(c.reload), outAtSince: periodic(c.mode) };
}

function channel2Read(c: Channel2, clock: number): { value: number; channel2: Channel2 } {
  const count = c.latched ?? channel2Count(c, clock);
  const done = (value: number, rest: Partial<Channel2>): { value: number; channel2: Channel2 } => ({ value, channel2: { ...c, ...rest } });
  if (c.access === 1) return done(count & 0xff, { latched: null });
  if (c.access === 2) return done(count >>> 8, { latched: null });
  return c.readHigh ? done(count >>> 8, { readHigh: false, latched: null }) : done(count & 0xff, { readHigh: true });
}

function pitWriteCounter(pit: Pit, value: number): Pit {
  const byte = value & 0xff;
  const start = (reload: number): Pit => ({
    ...pit, reload, counter: reload === 0 ? 0x10000 : reload, pendingLow: null, running: true, status: null,
  });
  if (pit.access === 1) return start(byte);
  if (pit.access === 2) return start(byte << 8);
  if (pit.pendingLow === null) return updatePit(pit, { pendingLow: byte });
  return start(pit.pendingLow | (byte << 8));
}

/** Instructions until the timer raises IRQ 0, or null when it is stopped. */
export function instructionsUntilTimer(devices: Devices): number | null {
  return devices.pit.running ? devices.pit.counter : null;
}

/**
 * [IO.PIT.3] Advance time by `count` ticks (retired instructions, or the
 * ticks skipped in HLT). Each tick decrements channel 0 by one; on reaching
 * zero it raises IRQ 0 and reloads (modes 2 and 3, periodic) or stops (every
 * other mode, one-shot). One tick per instruction instead of 1.193 MHz is
 * our choice: it makes time deterministic. A stopped timer leaves the
 * devices as they are.
 */
export function advanceTime(devices: Devices, count: number): Devices {
  const pit = devices.pit;
  if (count <= 0 || !pit.running) return devices;
  if (count < pit.counter) return withPit(devices, updatePit(pit, { counter: pit.counter - count }));
  const reload = period(pit.reload);
  const repeats = periodic(pit.mode);
  const left = count - pit.counter;
  const counter = repeats ? reload - (left % reload) : 0;
  return raiseIrq(updateDevices(devices, { pit: updatePit(pit, { counter, running: repeats }) }), 0);
}

/** [EXC.HALT.1] [IO.CLOCK.1] The processor waits in HLT for `count` ticks:
 * the clock jumps by them (they are not instructions), and the timer counts
 * them. */
export function waitIdle(devices: Devices, count: number): Devices {
  return advanceTime(updateDevices(devices, { idleTicks: devices.idleTicks + count }), count);
}

// ---------------------------------------------------------------- ports

/** [IO.PORT.1] Read a port at `clock` (clockAt). Unconnected ports read as all ones. */
export function portRead(devices: Devices, port: number, size: 8 | 16 | 32, clock: number): { value: number; devices: Devices } {
  const unconnected = { value: sizeMask(size) >>> 0, devices };
  switch (port) {
    case MASTER_PIC_PORT:
    case SLAVE_PIC_PORT: {
      const pic = port === MASTER_PIC_PORT ? devices.master : devices.slave;
      return { value: pic.readIsr ? pic.isr : pic.irr, devices };
    }
    case MASTER_PIC_PORT + 1: return { value: devices.master.imr, devices };
    case SLAVE_PIC_PORT + 1: return { value: devices.slave.imr, devices };
    case PIT_CHANNEL0_PORT: {
      const pit = devices.pit;
      // [IO.PIT.5] A latched status byte is read first, then a latched count.
      if (pit.status !== null) return { value: pit.status, devices: updateDevices(devices, { pit: updatePit(pit, { status: null }) }) };
      const counter = (pit.latched ?? pit.counter) & 0xffff;
      if (pit.access === 1) return { value: counter & 0xff, devices: updateDevices(devices, { pit: updatePit(pit, { latched: null }) }) };
      if (pit.access === 2) return { value: counter >>> 8, devices: updateDevices(devices, { pit: updatePit(pit, { latched: null }) }) };
      const latched = pit.readHigh ? null : pit.latched;
      return { value: pit.readHigh ? counter >>> 8 : counter & 0xff, devices: updateDevices(devices, { pit: updatePit(pit, { readHigh: !pit.readHigh, latched }) }) };
    }
    case PIT_CHANNEL2_PORT: {
      const r = channel2Read(devices.channel2, clock);
      return { value: r.value, devices: updateDevices(devices, { channel2: r.channel2 }) };
    }
    // [IO.PORTB.1] Port 0x61: bits 0..3 as written, bit 4 the refresh
    // toggle (flips every 16 ticks), bit 5 channel 2's output.
    case PORT_B:
      return { value: (devices.portB & 0x0f) | (((clock >>> 4) & 1) << 4) | (channel2Out(devices.channel2, clock) ? 0x20 : 0), devices };
    case 0x70:
    case 0x71:
      return { value: cmosRead(devices.cmos, port), devices };
    default: {
      if (port >= UART_BASE && port < UART_BASE + 8) {
        const r = uartRead(devices.uart, port - UART_BASE);
        const d = updateDevices(devices, { uart: r.uart });
        return { value: r.value, devices: r.edge ? raiseIrq(d, UART_IRQ) : d };
      }
      return unconnected;
    }
  }
}

/** [IO.PORT.2] Write a port at `clock` (clockAt). A 16- or 32-bit write reaches only the device
 * at the addressed port with the low byte (our devices are all 8-bit);
 * writes to unconnected ports are dropped. */
export function portWrite(devices: Devices, port: number, size: 8 | 16 | 32, value: number, clock: number): Devices {
  void size;
  const byte = value & 0xff;
  switch (port) {
    // [IO.CONSOLE.1] Port 0xE9 appends the byte to the console.
    case CONSOLE_PORT: return updateDevices(devices, { console: { byte, previous: devices.console } });
    // [IO.EXIT.1] Port 0xF4 ends the run with exit code (value << 1) | 1,
    // the convention of QEMU's isa-debug-exit (so a clean exit is 1).
    case EXIT_PORT: return updateDevices(devices, { exitCode: ((((value >>> 0) & sizeMask(size)) * 2) | 1) >>> 0 });
    case MASTER_PIC_PORT: return updateDevices(devices, { master: picWriteCommand(devices.master, byte) });
    case MASTER_PIC_PORT + 1: return updateDevices(devices, { master: picWriteData(devices.master, byte) });
    case SLAVE_PIC_PORT: return updateDevices(devices, { slave: picWriteCommand(devices.slave, byte) });
    case SLAVE_PIC_PORT + 1: return updateDevices(devices, { slave: picWriteData(devices.slave, byte) });
    case PIT_CONTROL_PORT: return pitWriteControl(devices, byte, clock);
    case PIT_CHANNEL0_PORT: return updateDevices(devices, { pit: pitWriteCounter(devices.pit, byte) });
    case PIT_CHANNEL2_PORT: return updateDevices(devices, { channel2: channel2WriteCount(devices.channel2, clock, byte) });
    case PORT_B: return updateDevices(devices, { portB: byte & 0x0f, channel2: channel2Gate(devices.channel2, clock, (byte & 1) !== 0) });
    case 0x70:
    case 0x71:
      return updateDevices(devices, { cmos: cmosWrite(devices.cmos, port, byte) });
    // [IO.PORT.3] Port 0x80 (the PC's POST code and I/O delay port) takes writes and drops them.
    case POST_PORT: return devices;
    default: {
      if (port >= UART_BASE && port < UART_BASE + 8) {
        const r = uartWrite(devices.uart, port - UART_BASE, byte);
        let d: Devices = updateDevices(devices, { uart: r.uart });
        if (r.sent !== null) d = updateDevices(d, { console: { byte: r.sent, previous: d.console } });
        return r.edge ? raiseIrq(d, UART_IRQ) : d;
      }
      return devices;
    }
  }
}
