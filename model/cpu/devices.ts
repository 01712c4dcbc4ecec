// The devices of the mesovirt PC: a debug console, an exit port, a PIT-like
// timer and an 8259-like interrupt controller pair. Time is counted in
// retired instructions, so a run is a function of its image alone.
import { match } from 'ts-pattern';

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
}

export interface Devices {
  readonly console: ConsoleLog;
  /** Set by a write to the exit port: (value << 1) | 1 as QEMU's isa-debug-exit. */
  readonly exitCode: number | null;
  readonly pit: Pit;
  readonly master: Pic;
  readonly slave: Pic;
}

export const CONSOLE_PORT = 0xe9;
export const EXIT_PORT = 0xf4;
export const PIT_CHANNEL0_PORT = 0x40;
export const PIT_CONTROL_PORT = 0x43;
export const MASTER_PIC_PORT = 0x20;
export const SLAVE_PIC_PORT = 0xa0;

/** [IO.PIC.1] After reset each controller is uninitialised with every line
 * masked and the PC BIOS vector bases (0x08 master, 0x70 slave): a guest
 * must program the PIC before it sees an interrupt. The choice of IMR = 0xFF
 * is ours (a BIOS would leave some lines open). */
function resetPic(vectorBase: number): Pic {
  return { irr: 0, isr: 0, imr: 0xff, vectorBase, expect: 0, needIcw4: false, single: false, readIsr: false };
}

/** [IO.PIT.1] The timer starts stopped; it counts only after a reload value is written. */
export const initialDevices: Devices = {
  console: null,
  exitCode: null,
  pit: { reload: 0, counter: 0, mode: 2, access: 3, pendingLow: null, readHigh: false, running: false },
  master: resetPic(0x08),
  slave: resetPic(0x70),
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
    return { ...pic, irr: 0, isr: 0, imr: 0, expect: 2, needIcw4: (value & 1) !== 0, single: (value & 2) !== 0, readIsr: false };
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
    .with(3, () => ({ ...pic, expect: pic.needIcw4 ? 4 : 0 } as Pic))
    .with(4, () => ({ ...pic, expect: 0 } as Pic))
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
  if (line < 8) return { ...devices, master: { ...devices.master, irr: devices.master.irr | (1 << line) } };
  return { ...devices, slave: { ...devices.slave, irr: devices.slave.irr | (1 << (line - 8)) } };
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
        master: { ...devices.master, irr: devices.master.irr & ~bit, isr: devices.master.isr | bit },
        slave: { ...devices.slave, irr: devices.slave.irr & ~sbit, isr: devices.slave.isr | sbit },
      },
    };
  }
  return {
    vector: (devices.master.vectorBase + line) & 0xff,
    devices: { ...devices, master: { ...devices.master, irr: devices.master.irr & ~bit, isr: devices.master.isr | bit } },
  };
}

// ---------------------------------------------------------------- PIT

function pitWriteControl(pit: Pit, value: number): Pit {
  // Only channel 0 exists; control words for channels 1..2 and read-back are ignored.
  if ((value >>> 6) !== 0) return pit;
  const access = (value >>> 4) & 3;
  if (access === 0) return pit; // counter latch: reads are not latched in our model
  // [IO.PIT.2] A control word stops channel 0 until its reload value is written.
  return { ...pit, access, mode: (value >>> 1) & 7, pendingLow: null, readHigh: false, running: false };
}

function pitWriteCounter(pit: Pit, value: number): Pit {
  const byte = value & 0xff;
  const start = (reload: number): Pit => ({
    ...pit, reload, counter: reload === 0 ? 0x10000 : reload, pendingLow: null, running: true,
  });
  if (pit.access === 1) return start(byte);
  if (pit.access === 2) return start(byte << 8);
  if (pit.pendingLow === null) return { ...pit, pendingLow: byte };
  return start(pit.pendingLow | (byte << 8));
}

/** Instructions until the timer raises IRQ 0, or null when it is stopped. */
export function instructionsUntilTimer(devices: Devices): number | null {
  return devices.pit.running ? devices.pit.counter : null;
}

/**
 * [IO.PIT.3] Advance time by `count` retired instructions. Each instruction
 * decrements channel 0 by one; on reaching zero it raises IRQ 0 and reloads
 * (modes 2 and 3, periodic) or stops (every other mode, one-shot). One tick
 * per instruction instead of 1.193 MHz is our choice: it makes time
 * deterministic.
 */
export function advanceTime(devices: Devices, count: number): Devices {
  const pit = devices.pit;
  if (!pit.running || count <= 0) return devices;
  if (count < pit.counter) return { ...devices, pit: { ...pit, counter: pit.counter - count } };
  const period = pit.reload === 0 ? 0x10000 : pit.reload;
  const periodic = pit.mode === 2 || pit.mode === 3;
  const left = count - pit.counter;
  const counter = periodic ? period - (left % period) : 0;
  return raiseIrq({ ...devices, pit: { ...pit, counter, running: periodic } }, 0);
}

// ---------------------------------------------------------------- ports

/** [IO.PORT.1] Read a port. Unconnected ports read as all ones. */
export function portRead(devices: Devices, port: number, size: 8 | 16 | 32): { value: number; devices: Devices } {
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
      const counter = pit.counter & 0xffff;
      if (pit.access === 1) return { value: counter & 0xff, devices };
      if (pit.access === 2) return { value: counter >>> 8, devices };
      return { value: pit.readHigh ? counter >>> 8 : counter & 0xff, devices: { ...devices, pit: { ...pit, readHigh: !pit.readHigh } } };
    }
    default: return unconnected;
  }
}

/** [IO.PORT.2] Write a port. A 16- or 32-bit write reaches only the device
 * at the addressed port with the low byte (our devices are all 8-bit);
 * writes to unconnected ports are dropped. */
export function portWrite(devices: Devices, port: number, size: 8 | 16 | 32, value: number): Devices {
  void size;
  const byte = value & 0xff;
  switch (port) {
    // [IO.CONSOLE.1] Port 0xE9 appends the byte to the console.
    case CONSOLE_PORT: return { ...devices, console: { byte, previous: devices.console } };
    // [IO.EXIT.1] Port 0xF4 ends the run with exit code (value << 1) | 1,
    // the convention of QEMU's isa-debug-exit (so a clean exit is 1).
    case EXIT_PORT: return { ...devices, exitCode: ((((value >>> 0) & sizeMask(size)) * 2) | 1) >>> 0 };
    case MASTER_PIC_PORT: return { ...devices, master: picWriteCommand(devices.master, byte) };
    case MASTER_PIC_PORT + 1: return { ...devices, master: picWriteData(devices.master, byte) };
    case SLAVE_PIC_PORT: return { ...devices, slave: picWriteCommand(devices.slave, byte) };
    case SLAVE_PIC_PORT + 1: return { ...devices, slave: picWriteData(devices.slave, byte) };
    case PIT_CONTROL_PORT: return { ...devices, pit: pitWriteControl(devices.pit, byte) };
    case PIT_CHANNEL0_PORT: return { ...devices, pit: pitWriteCounter(devices.pit, byte) };
    default: return devices;
  }
}
