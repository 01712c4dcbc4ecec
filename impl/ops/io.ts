// IN and OUT, and the I/O permission rule they share with INS/OUTS: at
// CPL > IOPL every byte of the port range must be clear in the TSS I/O
// permission bitmap (SDM vol. 1 §19.5), else #GP(0).
import type { Cpu, Decoded } from '../cpu';
import { IOPL, readEflags } from '../flags';
import { gp } from '../faults';
import { readSystem } from '../access';

export function checkIoPermission(cpu: Cpu, port: number, size: number): void {
  const iopl = (readEflags(cpu) & IOPL) >> 12;
  if (cpu.cpl <= iopl) return;
  const tr = cpu.tr;
  // Only a 32-bit TSS (type 9 or 11) has a bitmap.
  if (!tr.valid || (tr.attributes & 0xd) !== 0x9 || tr.limit < 0x67) gp(0);
  const mapBase = readSystem(cpu, (tr.base + 0x66) >>> 0, 2);
  const byteOffset = mapBase + (port >>> 3);
  if (byteOffset + 1 > tr.limit) gp(0);
  const bits = readSystem(cpu, (tr.base + byteOffset) >>> 0, 2);
  const wanted = ((1 << size) - 1) << (port & 7);
  if (bits & wanted) gp(0);
}

/** IN acc, imm8 (imm2 = 0) or IN acc, DX (imm2 = 1). */
export function input(cpu: Cpu, d: Decoded): void {
  const port = d.imm2 ? cpu.r16[4] : d.imm;
  checkIoPermission(cpu, port, d.size);
  cpu.writeRegister(d.size, 0, cpu.devices.in(port, d.size));
}

export function output(cpu: Cpu, d: Decoded): void {
  const port = d.imm2 ? cpu.r16[4] : d.imm;
  checkIoPermission(cpu, port, d.size);
  cpu.devices.out(port, d.size, cpu.readRegister(d.size, 0));
}
