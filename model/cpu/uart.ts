// The 16550A UART of the first serial port (COM1: ports 0x3F8..0x3FF, IRQ 4),
// as the console of a Linux guest. Transmission is instantaneous: a byte
// written to the transmitter goes to the console at once and the
// transmitter is empty again. Nothing is ever received.
// Spec: spec/io.md, "Serial port (16550A UART)".

export interface Uart {
  /** Interrupt enable register, bits 0..3 (bit 1: transmitter empty). */
  readonly ier: number;
  readonly lcr: number;
  /** Modem control register, bits 0..4 (bit 3 OUT2 gates the IRQ line; bit 4 loopback). */
  readonly mcr: number;
  readonly scratch: number;
  /** Divisor latch, low and high byte. */
  readonly dll: number;
  readonly dlm: number;
  readonly fifoEnabled: boolean;
  /** The transmitter-empty interrupt is pending. */
  readonly threPending: boolean;
  /** The level of the IRQ line the last time it was computed (for edges). */
  readonly irqLine: boolean;
}

export const UART_BASE = 0x3f8;
export const UART_IRQ = 4;

/** [IO.UART.1] At reset: everything zero, FIFOs off, no interrupt pending. */
export const initialUart: Uart = {
  ier: 0, lcr: 0, mcr: 0, scratch: 0, dll: 0x0c, dlm: 0, fifoEnabled: false, threPending: false, irqLine: false,
};

const DLAB = 0x80;
const IER_THRI = 0x02;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;

/** [IO.UART.4] The IRQ line is high while an enabled interrupt is pending,
 * OUT2 is set (on the PC it gates the line) and loopback is off. */
function irqLevel(u: Uart): boolean {
  return u.threPending && (u.ier & IER_THRI) !== 0 && (u.mcr & MCR_OUT2) !== 0 && (u.mcr & MCR_LOOP) === 0;
}

/** The UART after an access, with `edge` true when its IRQ line rose (the PIC latches a request). */
function settle(u: Uart): { uart: Uart; edge: boolean } {
  const level = irqLevel(u);
  return { uart: level === u.irqLine ? u : { ...u, irqLine: level }, edge: level && !u.irqLine };
}

/** [IO.UART.2] Register reads, offset 0..7 from 0x3F8. */
export function uartRead(u: Uart, offset: number): { value: number; uart: Uart; edge: boolean } {
  const dlab = (u.lcr & DLAB) !== 0;
  switch (offset) {
    case 0: return { value: dlab ? u.dll : 0, uart: u, edge: false }; // receiver buffer: never data
    case 1: return { value: dlab ? u.dlm : u.ier, uart: u, edge: false };
    case 2: {
      // [IO.UART.3] IIR: bits 7..6 set when the FIFOs are on; bits 3..0 are
      // 0x2 for a pending transmitter-empty interrupt, else 0x1 (none). A
      // read that reports the transmitter-empty interrupt clears it.
      const fifo = u.fifoEnabled ? 0xc0 : 0;
      if (u.threPending && (u.ier & IER_THRI) !== 0) {
        const r = settle({ ...u, threPending: false });
        return { value: fifo | 0x02, ...r };
      }
      return { value: fifo | 0x01, uart: u, edge: false };
    }
    case 3: return { value: u.lcr, uart: u, edge: false };
    case 4: return { value: u.mcr, uart: u, edge: false };
    case 5: return { value: 0x60, uart: u, edge: false }; // LSR: transmitter holding register and shift register empty
    case 6: {
      // MSR: in loopback the modem inputs follow MCR (CTS = RTS, DSR = DTR,
      // RI = OUT1, DCD = OUT2); otherwise a cable with CTS, DSR and DCD up.
      if (u.mcr & MCR_LOOP) {
        const m = u.mcr;
        return { value: ((m & 2) << 3) | ((m & 1) << 5) | ((m & 4) << 4) | ((m & 8) << 4), uart: u, edge: false };
      }
      return { value: 0xb0, uart: u, edge: false };
    }
    default: return { value: u.scratch, uart: u, edge: false };
  }
}

/** [IO.UART.2] Register writes, offset 0..7. Returns the byte sent to the console, if any. */
export function uartWrite(u: Uart, offset: number, value: number): { uart: Uart; edge: boolean; sent: number | null } {
  const dlab = (u.lcr & DLAB) !== 0;
  const byte = value & 0xff;
  switch (offset) {
    case 0: {
      if (dlab) return { uart: { ...u, dll: byte }, edge: false, sent: null };
      // [IO.UART.5] A byte written to the transmitter goes out at once (to
      // the console unless in loopback): the line drops while the
      // transmitter is full and rises again when it is empty, so with the
      // interrupt enabled every byte sent makes a new edge on IRQ 4.
      const dropped = settle({ ...u, threPending: false }).uart;
      const r = settle({ ...dropped, threPending: (u.ier & IER_THRI) !== 0 });
      return { ...r, sent: u.mcr & MCR_LOOP ? null : byte };
    }
    case 1: {
      if (dlab) return { uart: { ...u, dlm: byte }, edge: false, sent: null };
      // [IO.UART.3] Enabling the transmitter-empty interrupt while the
      // transmitter is empty (always, here) makes it pending; disabling it
      // clears it.
      const ier = byte & 0x0f;
      const changed = (ier ^ u.ier) & IER_THRI;
      const threPending = changed ? (ier & IER_THRI) !== 0 : u.threPending;
      return { ...settle({ ...u, ier, threPending }), sent: null };
    }
    case 2: return { uart: { ...u, fifoEnabled: (byte & 1) !== 0 }, edge: false, sent: null };
    case 3: return { uart: { ...u, lcr: byte }, edge: false, sent: null };
    case 4: return { ...settle({ ...u, mcr: byte & 0x1f }), sent: null };
    case 7: return { uart: { ...u, scratch: byte }, edge: false, sent: null };
    default: return { uart: u, edge: false, sent: null }; // LSR and MSR are read-only
  }
}
