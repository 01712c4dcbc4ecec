// The CMOS RTC (MC146818-compatible) at ports 0x70 (index) and 0x71 (data).
// Its clock holds a fixed date that does not advance (time on mesovirt is
// retired instructions, and a date that moved with them would be the only
// thing a kernel reads that depends on how long a run took on the host).
// Spec: spec/io.md, "CMOS real-time clock".

export interface Cmos {
  /** Index register (bits 0..6); bit 7 of a write to 0x70 (NMI mask) is dropped. */
  readonly index: number;
  /** The 128 bytes of CMOS RAM, the clock registers included. */
  readonly ram: readonly number[];
}

export interface RtcDate {
  readonly year: number; readonly month: number; readonly day: number;
  readonly hour: number; readonly minute: number; readonly second: number;
}

/** The date our RTC shows unless a machine is given another. */
export const DEFAULT_RTC_DATE: RtcDate = { year: 2026, month: 1, day: 1, hour: 0, minute: 0, second: 0 };

const bcd = (n: number): number => ((Math.floor(n / 10) % 10) << 4) | (n % 10);

/** Day of the week, 1 = Sunday (the RTC's numbering), by Zeller's congruence. */
function weekday(d: RtcDate): number {
  const m = d.month < 3 ? d.month + 12 : d.month;
  const y = d.month < 3 ? d.year - 1 : d.year;
  const h = (d.day + Math.floor((13 * (m + 1)) / 5) + y + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400)) % 7; // 0 = Saturday
  return ((h + 6) % 7) + 1;
}

/**
 * [IO.RTC.1] The CMOS contents at reset: the clock registers hold `date` in
 * BCD (0x00 seconds, 0x02 minutes, 0x04 hours, 0x06 day of week with 1 =
 * Sunday, 0x07 day, 0x08 month, 0x09 year within the century, 0x32 the
 * century); status A = 0x26 (divider on, update-in-progress clear), B =
 * 0x02 (24-hour, BCD, no interrupts), C = 0, D = 0x80 (battery good); every
 * other byte 0.
 */
export function cmosAt(date: RtcDate): Cmos {
  const ram = new Array<number>(128).fill(0);
  ram[0x00] = bcd(date.second); ram[0x02] = bcd(date.minute); ram[0x04] = bcd(date.hour);
  ram[0x06] = weekday(date); ram[0x07] = bcd(date.day); ram[0x08] = bcd(date.month);
  ram[0x09] = bcd(date.year % 100); ram[0x32] = bcd(Math.floor(date.year / 100));
  ram[0x0a] = 0x26; ram[0x0b] = 0x02; ram[0x0c] = 0; ram[0x0d] = 0x80;
  return { index: 0, ram };
}

export const initialCmos: Cmos = cmosAt(DEFAULT_RTC_DATE);

/** [IO.RTC.2] Port 0x70 selects a register (bit 7, the PC's NMI mask, is
 * ignored: we have no NMI); port 0x71 reads it. */
export function cmosRead(c: Cmos, port: number): number {
  return port === 0x70 ? 0xff : c.ram[c.index]!;
}

/** [IO.RTC.2] A write to 0x71 stores into the selected byte, except the
 * read-only status C and D; the clock keeps whatever is written (it never
 * ticks). */
export function cmosWrite(c: Cmos, port: number, value: number): Cmos {
  if (port === 0x70) return { ...c, index: value & 0x7f };
  if (c.index === 0x0c || c.index === 0x0d) return c;
  const ram = c.ram.slice();
  ram[c.index] = c.index === 0x0a ? value & 0x7f : value & 0xff;
  return { ...c, ram };
}
