// Physical memory: one Uint8Array plus a DataView for little-endian words.
// Addresses past the end of RAM read as all ones and ignore writes, as an
// empty PC bus does (the manual leaves this to the platform; STATE.MEM.2).
//
// Every write also tells the code cache: `codePages` marks the 4 KiB frames
// that hold decoded instructions, and a write into such a frame is reported
// (address and length) so the cache can drop what the write overlaps
// (self-modifying code). The check is one byte load per write.
//
// The same mark lets a differential campaign know which frames a machine
// wrote, at no cost to a run that does not ask (recordWrittenFrames): every
// frame not yet written gets the mark UNWRITTEN_FRAME as well, so its first
// write is reported too, whatever path it takes; the report notes the frame
// and drops that mark, and the frame's later writes cost what they cost
// before. Every writer of RAM already falls back to a reported write on a
// marked frame, unless it can see that the frame holds code only
// (CODE_FRAME) and none under the write (fast-access.ts, block-memory.ts):
// a frame marked anything else takes the reported way.
import { mutated } from './mutants';

/** codePages: the frame holds decoded instructions or watched bytes (Cpu.codeBytes says which). */
export const CODE_FRAME = 1;
/** codePages, while recording: the frame has not been written since recording began. */
export const UNWRITTEN_FRAME = 2;

// Campaigns build thousands of short-lived machines of one size, and a
// fresh RAM for each (allocated, then faulted in page by page as it is
// touched and compared) was most of impl's share of a case's set-up. A
// machine that is done hands its RAM back (recycleRam) and the next memory
// of that size takes it, zeroed when it is taken: whole, or only the pages
// the machine's owner says may be non-zero.
const spareRam: { readonly bytes: Uint8Array; readonly dirtyPages: readonly number[] | null }[] = [];

/** A machine that will not run again gives its RAM to the next PhysicalMemory
 * of its size. Two are kept, the latest given (so RAM of a size no longer
 * made does not keep out the size in use now). With `dirtyPages`, the
 * giver vouches that every byte outside those 4 KiB pages is zero, and only
 * they are zeroed when the RAM is taken (a differential campaign, having
 * compared the RAM with the model's, names the pages the model wrote). */
export function recycleRam(bytes: Uint8Array, dirtyPages: readonly number[] | null = null): void {
  if (spareRam.some((r) => r.bytes === bytes)) return;
  if (spareRam.length >= 2) spareRam.shift();
  spareRam.push({ bytes, dirtyPages });
}

function ramOfSize(size: number): Uint8Array {
  const i = spareRam.findIndex((r) => r.bytes.length === size);
  if (i < 0) return new Uint8Array(size);
  const { bytes: ram, dirtyPages } = spareRam.splice(i, 1)[0]!;
  if (!mutated('recycled-ram-not-zeroed')) {
    if (dirtyPages === null) ram.fill(0);
    else for (const page of dirtyPages) ram.fill(0, page, page + 4096);
  }
  return ram;
}

export class PhysicalMemory {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly codePages: Uint8Array;
  /** Called when a write of `length` bytes at `address` (all in one frame) hits a marked code frame. */
  onCodeWrite: (address: number, length: number) => void = () => {};
  /** While recording (recordWrittenFrames): the frames written since, in the order first written. */
  private written: number[] | null = null;

  constructor(readonly size: number) {
    this.bytes = ramOfSize(size);
    this.view = new DataView(this.bytes.buffer);
    this.codePages = new Uint8Array(Math.ceil(size / 4096) + 1);
  }

  /**
   * From now on, note every 4 KiB frame of RAM that a write reaches, by any
   * path (writtenFrames); called again, forget the frames noted so far and
   * start again. Each frame is marked UNWRITTEN_FRAME, so that its first
   * write is reported through onCodeWrite, which this wraps: the wrapper
   * notes the frame, drops the mark and, if the frame is marked for code
   * as well, passes the report on. A campaign calls it on a fresh machine,
   * whose RAM is all zero: a frame never noted is still zero. (Only the
   * machine's own writers are seen: a caller that writes into `bytes`
   * itself, as properties/vmm's monitor over impl's RAM does, must not
   * rely on the record.)
   */
  recordWrittenFrames(): void {
    const pages = this.codePages, frames = Math.ceil(this.size / 4096);
    if (this.written === null) {
      const report = this.onCodeWrite;
      this.onCodeWrite = (address, length) => {
        const frame = address >>> 12;
        if (pages[frame] & UNWRITTEN_FRAME) {
          pages[frame] &= ~UNWRITTEN_FRAME;
          if (!mutated('first-write-unrecorded')) this.written!.push(frame);
          if (pages[frame] === 0) return;
        }
        report(address, length);
      };
    }
    this.written = [];
    for (let frame = 0; frame < frames; frame++) pages[frame] |= UNWRITTEN_FRAME;
  }

  /** The frames written since recordWrittenFrames() (their numbers, ascending), or null when not recording. */
  writtenFrames(): number[] | null {
    return this.written === null ? null : this.written.slice().sort((a, b) => a - b);
  }

  read8(address: number): number {
    return address < this.size ? this.bytes[address] : 0xff;
  }
  read16(address: number): number {
    if (address + 1 < this.size) return this.view.getUint16(address, true);
    return this.read8(address) | (this.read8(address + 1) << 8);
  }
  read32(address: number): number {
    if (address + 3 < this.size) return this.view.getUint32(address, true);
    return (this.read16(address) | (this.read16(address + 2) << 16)) >>> 0;
  }
  read(address: number, size: number): number {
    return size === 4 ? this.read32(address) : size === 1 ? this.read8(address) : this.read16(address);
  }

  write8(address: number, value: number): void {
    if (address >= this.size) return;
    if (this.codePages[address >>> 12]) this.onCodeWrite(address, 1);
    this.bytes[address] = value;
  }
  write16(address: number, value: number): void {
    if (address + 1 >= this.size || (address & 0xfff) === 0xfff) {
      this.write8(address, value & 0xff);
      this.write8(address + 1, (value >>> 8) & 0xff);
      return;
    }
    if (this.codePages[address >>> 12]) this.onCodeWrite(address, 2);
    this.view.setUint16(address, value, true);
  }
  write32(address: number, value: number): void {
    if (address + 3 >= this.size || (address & 0xfff) > 0xffc) {
      this.write16(address, value & 0xffff);
      this.write16(address + 2, (value >>> 16) & 0xffff);
      return;
    }
    if (this.codePages[address >>> 12]) this.onCodeWrite(address, 4);
    this.view.setUint32(address, value >>> 0, true);
  }
  write(address: number, size: number, value: number): void {
    if (size === 4) this.write32(address, value);
    else if (size === 1) this.write8(address, value);
    else this.write16(address, value);
  }
}
