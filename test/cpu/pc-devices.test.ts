// The PC devices a Linux kernel uses (spec/io.md): the UART, PIT channel 2
// and port 0x61, latch and read-back, the CMOS RTC, port 0x80, the PIC's
// specific EOI — each scenario run on the model's pure devices and on
// impl's Devices class, with expected values worked out from the
// datasheets (16550A, 8254, MC146818, 8259A), not from either machine.
import { describe, expect, it } from 'vitest';
import { acknowledgeInterrupt, advanceTime, consoleBytes, initialDevices, raiseIrq, portRead, portWrite, type Devices as ModelDevices } from '../../model/cpu/devices';
import { cmosAt, cmosRead, cmosWrite } from '../../model/cpu/cmos';
import { Devices as ImplDevices } from '../../impl/devices';
import fc from 'fast-check';
import { propertySeed } from '../../properties/seed';
import { createMachine, flatEntryState, MACHINE_KINDS, parseRtcDate } from '../../properties/machines';

/** One bus both machines' devices sit behind: in, out, let time pass, read the console and IRR. */
interface Bus {
  inb(port: number): number;
  outb(port: number, value: number): void;
  tick(count: number): void;
  console(): string;
  masterIrr(): number;
  clearMasterIrr(): void;
  /** INTA: the vector of the interrupt acknowledged, or null if none is pending. */
  acknowledge(): number | null;
  /** Raise IRQ line 0..15. */
  raise(line: number): void;
}

function modelBus(): Bus {
  // The clock as the model keeps it (IO.CLOCK.1): the ticks counted so far.
  let d: ModelDevices = initialDevices, clock = 0;
  return {
    inb(port) { const r = portRead(d, port, 8, clock); d = r.devices; return r.value; },
    outb(port, value) { d = portWrite(d, port, 8, value, clock); },
    tick(count) { d = advanceTime(d, count); clock += count; },
    console: () => new TextDecoder('latin1').decode(consoleBytes(d.console)),
    masterIrr: () => d.master.irr,
    clearMasterIrr() { d = { ...d, master: { ...d.master, irr: 0 } }; },
    acknowledge() { const a = acknowledgeInterrupt(d); if (a === null) return null; d = a.devices; return a.vector; },
    raise(line) { d = raiseIrq(d, line); },
  };
}

function implBus(): Bus {
  const d = new ImplDevices();
  let instructions = 0;
  d.instructions = () => instructions;
  return {
    inb: (port) => d.in(port, 1),
    outb: (port, value) => d.out(port, 1, value),
    tick(count) { for (let i = 0; i < count; i++) { instructions++; d.tick(); } },
    console: () => String.fromCharCode(...d.console),
    masterIrr: () => d.master.irr,
    clearMasterIrr() { d.master.irr = 0; },
    acknowledge() { const v = d.pendingVector(); if (v < 0) return null; d.acknowledge(); return v; },
    raise(line) { if (line < 8) d.master.irr |= 1 << line; else d.slave.irr |= 1 << (line - 8); },
  };
}

const machines: [string, () => Bus][] = [['model', modelBus], ['impl', implBus]];

describe.each(machines)('PC devices on %s', (_name, bus) => {
  it('the UART answers the way Linux\'s 8250 probe expects [IO.UART.1] [IO.UART.2]', () => {
    const b = bus();
    expect(b.inb(0x3f9)).toBe(0); // IER 0 at reset
    b.outb(0x3f9, 0xff);
    expect(b.inb(0x3f9)).toBe(0x0f); // only bits 0..3 exist
    b.outb(0x3f9, 0);
    b.outb(0x3ff, 0xa5);
    expect(b.inb(0x3ff)).toBe(0xa5); // scratch
    expect(b.inb(0x3fd)).toBe(0x60); // LSR: THRE | TEMT
    expect(b.inb(0x3fa)).toBe(0x01); // IIR: no interrupt, FIFOs off
    b.outb(0x3fa, 0x01);
    expect(b.inb(0x3fa)).toBe(0xc1); // FIFOs on: bits 7..6 set (a 16550A)
    // Loopback: MCR 0x1A (RTS, OUT2, LOOP) shows CTS and DCD: MSR & 0xF0 = 0x90.
    b.outb(0x3fc, 0x1a);
    expect(b.inb(0x3fe) & 0xf0).toBe(0x90);
    b.outb(0x3fc, 0x00);
    expect(b.inb(0x3fe)).toBe(0xb0);
    // DLAB: offsets 0 and 1 are the divisor latch.
    b.outb(0x3fb, 0x83);
    b.outb(0x3f8, 0x01);
    b.outb(0x3f9, 0x00);
    expect([b.inb(0x3f8), b.inb(0x3f9)]).toEqual([1, 0]);
    b.outb(0x3fb, 0x03);
    expect(b.inb(0x3f9)).toBe(0); // IER again, untouched by the divisor write
  });

  it('the transmitter interrupt: pending when enabled, cleared by the IIR read, an edge per byte [IO.UART.3] [IO.UART.4] [IO.UART.5]', () => {
    const b = bus();
    b.outb(0x3fc, 0x08); // OUT2: connect the IRQ line
    b.outb(0x3f9, 0x02); // enable THRI with the transmitter empty: pending, IRQ 4 rises
    expect(b.masterIrr()).toBe(1 << 4);
    b.clearMasterIrr();
    expect(b.inb(0x3fa)).toBe(0x02); // THRE is the source...
    expect(b.inb(0x3fa)).toBe(0x01); // ...and reading it cleared it
    b.outb(0x3f8, 0x41); // a byte: the line drops and rises again
    expect(b.masterIrr()).toBe(1 << 4);
    expect(b.console()).toBe('A');
    b.clearMasterIrr();
    b.outb(0x3f9, 0x00); // disabled: no pending interrupt, no edge on the next byte
    b.outb(0x3f8, 0x42);
    expect(b.inb(0x3fa)).toBe(0x01);
    expect(b.masterIrr()).toBe(0);
    // Without OUT2 the interrupt is pending in the UART but never reaches the PIC.
    b.outb(0x3fc, 0x00);
    b.outb(0x3f9, 0x02);
    expect(b.masterIrr()).toBe(0);
    expect(b.inb(0x3fa)).toBe(0x02);
    // Loopback: nothing reaches the console.
    b.outb(0x3fc, 0x10);
    b.outb(0x3f8, 0x43);
    expect(b.console()).toBe('AB');
  });

  it('channel 2 in mode 0 as Linux calibrates the TSC: gate from port 0x61, output in bit 5, one count per instruction [IO.CLOCK.1] [IO.PIT.6] [IO.PIT.7] [IO.PORTB.1]', () => {
    const b = bus();
    b.outb(0x61, (b.inb(0x61) & ~0x02) | 0x01); // gate high, speaker off
    b.outb(0x43, 0xb0); // channel 2, low/high, mode 0
    b.outb(0x42, 100);
    b.outb(0x42, 0);
    expect(b.inb(0x61) & 0x21).toBe(0x01); // output low, gate as written
    b.tick(40);
    expect([b.inb(0x42), b.inb(0x42)]).toEqual([60, 0]); // unlatched: low then high byte
    b.tick(59);
    expect(b.inb(0x61) & 0x20).toBe(0); // count 1: not yet
    b.tick(1);
    expect(b.inb(0x61) & 0x20).toBe(0x20); // terminal count: output high and stays high
    b.tick(10);
    expect(b.inb(0x61) & 0x20).toBe(0x20);
    expect([b.inb(0x42), b.inb(0x42)]).toEqual([0xf6, 0xff]); // wrapped past zero: 0xFFF6
    // Gate low stops the count.
    b.outb(0x61, 0x00);
    b.tick(1000);
    expect([b.inb(0x42), b.inb(0x42)]).toEqual([0xf6, 0xff]);
    expect(b.masterIrr()).toBe(0); // channel 2 raises no interrupt
  });

  it('the refresh bit of port 0x61 flips every 16 ticks [IO.PORTB.1]', () => {
    const b = bus();
    const bit = () => (b.inb(0x61) >>> 4) & 1;
    expect(bit()).toBe(0);
    b.tick(16);
    expect(bit()).toBe(1);
    b.tick(16);
    expect(bit()).toBe(0);
  });

  it('channel 0: a latched count stays while the counter runs; read-back gives the status first [IO.PIT.4] [IO.PIT.5]', () => {
    const b = bus();
    b.outb(0x43, 0x34); // channel 0, low/high, mode 2
    b.outb(0x40, 0x00);
    b.outb(0x40, 0x10); // reload 0x1000
    b.tick(0x10);
    b.outb(0x43, 0x00); // latch
    b.tick(0x100);
    expect([b.inb(0x40), b.inb(0x40)]).toEqual([0xf0, 0x0f]); // 0x1000 - 0x10, latched
    expect([b.inb(0x40), b.inb(0x40)]).toEqual([0xf0, 0x0e]); // live again: 0x1000 - 0x110
    b.outb(0x43, 0xc2); // read-back channel 0: count and status
    // Status: OUT 1, null count 0, access 3 (bits 5..4), mode 2 (bits 3..1) = 0xB4.
    expect(b.inb(0x40)).toBe(0xb4);
    expect([b.inb(0x40), b.inb(0x40)]).toEqual([0xf0, 0x0e]);
    // A mode-0 one-shot (Linux's shutdown programs mode 0 with count 0 = 65536) fires once.
    b.outb(0x43, 0x30);
    b.outb(0x40, 0);
    b.outb(0x40, 0);
    b.tick(0xffff);
    expect(b.masterIrr() & 1).toBe(0);
    b.tick(1);
    expect(b.masterIrr() & 1).toBe(1);
    b.clearMasterIrr();
    b.tick(0x20000);
    expect(b.masterIrr() & 1).toBe(0);
  });

  it('the CMOS clock shows the fixed date in BCD; status C and D are read-only [IO.RTC.1] [IO.RTC.2]', () => {
    const b = bus();
    const reg = (i: number): number => { b.outb(0x70, i | 0x80); return b.inb(0x71); };
    // 2026-01-01 00:00:00 was a Thursday: day of week 5 (1 = Sunday).
    expect([0, 2, 4, 6, 7, 8, 9, 0x32].map(reg)).toEqual([0x00, 0x00, 0x00, 5, 0x01, 0x01, 0x26, 0x20]);
    expect([0x0a, 0x0b, 0x0c, 0x0d].map(reg)).toEqual([0x26, 0x02, 0x00, 0x80]);
    b.outb(0x70, 0x0d); b.outb(0x71, 0);
    expect(reg(0x0d)).toBe(0x80);
    b.outb(0x70, 0x0e); b.outb(0x71, 0x5a);
    expect(reg(0x0e)).toBe(0x5a);
    b.tick(10_000_000);
    expect(reg(0)).toBe(0); // the clock does not tick
    expect(b.inb(0x70)).toBe(0xff);
  });

  it('port 0x80 drops writes and reads all ones [IO.PORT.3]', () => {
    const b = bus();
    b.outb(0x80, 0x12);
    expect(b.inb(0x80)).toBe(0xff);
  });

  it('the PIC pair as Linux programs it: specific EOI of a slave line and the cascade [IO.PIC.7] [IO.PIC.3]', () => {
    const b = bus();
    for (const [port, value] of [[0x20, 0x11], [0x21, 0x30], [0x21, 0x04], [0x21, 0x01], [0xa0, 0x11], [0xa1, 0x38], [0xa1, 0x02], [0xa1, 0x01]] as const) b.outb(port, value);
    b.outb(0x21, 0xef); // open line 4 only
    b.outb(0x3fc, 0x08);
    b.outb(0x3f9, 0x02); // UART interrupt: IRR bit 4
    b.outb(0x20, 0x0a); // OCW3: read IRR
    expect(b.inb(0x20)).toBe(0x10);
    b.outb(0x20, 0x0b); // OCW3: read ISR
    expect(b.inb(0x20)).toBe(0x00);
  });

  const initialise = (b: Bus, icw4: number): void => {
    for (const [port, value] of [[0x20, 0x11], [0x21, 0x30], [0x21, 0x04], [0x21, icw4], [0xa0, 0x11], [0xa1, 0x38], [0xa1, 0x02], [0xa1, icw4]] as const) b.outb(port, value);
  };

  it('normal EOI: a line in service holds back itself and lower priorities until EOI [IO.PIC.6] [IO.PIC.3]', () => {
    const b = bus();
    initialise(b, 0x01);
    b.raise(3);
    expect(b.acknowledge()).toBe(0x33);
    b.outb(0x20, 0x0b);
    expect(b.inb(0x20)).toBe(0x08); // ISR: line 3 in service
    b.raise(3); b.raise(5);
    expect(b.acknowledge()).toBeNull(); // 3 again and 5 wait for the EOI
    b.raise(1);
    expect(b.acknowledge()).toBe(0x31); // a higher priority nests
    b.outb(0x20, 0x20); // non-specific EOI ends line 1 (the highest in service)
    b.outb(0x20, 0x20); // and then line 3
    expect(b.acknowledge()).toBe(0x33);
  });

  it('automatic EOI (ICW4 bit 1): nothing stays in service, on master and slave [IO.PIC.8]', () => {
    const b = bus();
    initialise(b, 0x03);
    b.raise(3);
    expect(b.acknowledge()).toBe(0x33);
    b.outb(0x20, 0x0b);
    expect(b.inb(0x20)).toBe(0x00); // ISR stays clear
    b.raise(5);
    expect(b.acknowledge()).toBe(0x35); // no EOI was needed for a lower priority
    b.raise(12); // slave line 4, through master line 2
    expect(b.acknowledge()).toBe(0x3c);
    b.outb(0xa0, 0x0b);
    expect(b.inb(0xa0)).toBe(0x00);
    b.raise(13);
    expect(b.acknowledge()).toBe(0x3d);
    // A new ICW1 without ICW4 is normal EOI again.
    for (const [port, value] of [[0x20, 0x10], [0x21, 0x30], [0x21, 0x04]] as const) b.outb(port, value);
    b.raise(3);
    expect(b.acknowledge()).toBe(0x33);
    b.outb(0x20, 0x0b);
    expect(b.inb(0x20)).toBe(0x08);
  });
});

describe('CMOS date arithmetic [IO.RTC.1]', () => {
  it('gives the weekday and BCD fields of another date', () => {
    // 1999-12-31 23:59:58 was a Friday (6).
    const c = cmosAt({ year: 1999, month: 12, day: 31, hour: 23, minute: 59, second: 58 });
    const reg = (i: number) => cmosRead(cmosWrite(c, 0x70, i), 0x71);
    expect([0, 2, 4, 6, 7, 8, 9, 0x32].map(reg)).toEqual([0x58, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x19]);
  });
  it('impl set to a date shows it too (2031-05-17 12:34:56 is a Saturday, 7; 2000-02-29 a Tuesday, 3)', () => {
    const d = new ImplDevices();
    d.setRtc({ year: 2031, month: 5, day: 17, hour: 12, minute: 34, second: 56 });
    const reg = (i: number): number => (d.out(0x70, 1, i), d.in(0x71, 1));
    expect([0, 2, 4, 6, 7, 8, 9, 0x32].map(reg)).toEqual([0x56, 0x34, 0x12, 7, 0x17, 0x05, 0x31, 0x20]);
    d.setRtc({ year: 2000, month: 2, day: 29, hour: 0, minute: 0, second: 0 });
    expect(reg(6)).toBe(3);
  });
  it('model (Zeller) and impl (the host calendar) give the same CMOS bytes for any date', () => {
    const date = fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((t) => ({
      year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate(), hour: t.getUTCHours(), minute: t.getUTCMinutes(), second: t.getUTCSeconds(),
    }));
    fc.assert(fc.property(date, (rtc) => {
      const d = new ImplDevices();
      d.setRtc(rtc);
      expect([...d.cmosBytes()]).toEqual(cmosAt(rtc).ram);
    }), { seed: propertySeed(), numRuns: 2000 });
  });
});

describe('run --rtc: the date a machine is given [IO.RTC.1]', () => {
  it('reads YYYY-MM-DD and YYYY-MM-DDTHH:MM:SS', () => {
    expect(parseRtcDate('2031-05-17T12:34:56')).toEqual({ year: 2031, month: 5, day: 17, hour: 12, minute: 34, second: 56 });
    expect(parseRtcDate('1999-12-31')).toEqual({ year: 1999, month: 12, day: 31, hour: 0, minute: 0, second: 0 });
  });
  it.each([
    ['2026-02-29', /not a calendar date/], ['2026-13-01', /not a calendar date/], ['0999-01-01', /not a calendar date/],
    ['2026-01-01T24:00:00', /not a time of day/], ['2026-01-01T12:60:00', /not a time of day/],
    ['tomorrow', /must be YYYY-MM-DD/], ['2026-1-1', /must be YYYY-MM-DD/], ['', /must be YYYY-MM-DD/],
  ])('refuses %j, saying why', (text, reason) => {
    expect(() => parseRtcDate(text)).toThrow(reason);
  });
  it('a model machine and an impl machine created with a date show it on port 0x71', () => {
    for (const kind of MACHINE_KINDS) {
      const machine = createMachine(kind, 1 << 20, { rtc: { year: 2042, month: 7, day: 4, hour: 8, minute: 9, second: 10 } });
      // OUT 0x70, AL=9; IN AL, 0x71; OUT 0xE9, AL; then the century byte; then HLT.
      const code = [0xb0, 0x09, 0xe6, 0x70, 0xe4, 0x71, 0xe6, 0xe9, 0xb0, 0x32, 0xe6, 0x70, 0xe4, 0x71, 0xe6, 0xe9, 0xf4];
      machine.writePhysical(0x1000, new Uint8Array(code));
      machine.setState(flatEntryState(0x1000, 0x8000));
      for (let i = 0; i < 20 && machine.step().kind !== 'halted'; i++);
      expect([...machine.consoleOutput()], kind).toEqual([0x42, 0x20]);
    }
  });
});
