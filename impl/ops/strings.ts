// String instructions with REP prefixes. A repeated instruction runs all its
// iterations in one step, and every iteration commits ESI/EDI/ECX before the
// next one starts. When an element after the first faults, the step ends
// there with EIP still on the instruction (the done elements retire), and
// the next step raises the fault on that element — as the model does
// (spec INS.STRING.4); re-executing resumes where it stopped.
import { type Cpu, type Decoded, DS, ES } from '../cpu';
import { DF, ZF, flag } from '../flags';
import { readMemory, writeMemory } from '../access';
import { alu } from './alu';
import { checkIoPermission } from './io';
import { mutated } from '../mutants';
import { undoWalks } from '../paging';

const sourceSegment = (d: Decoded): number => (d.override >= 0 ? d.override : DS);
const stepOf = (cpu: Cpu, size: number): number => (flag(cpu, DF) ? -size : size);

// The index and count registers are ESI, EDI and ECX, or SI, DI and CX with
// the address-size prefix (d.addressMask 0xffff): a 16-bit index wraps at
// 64 KiB and leaves the register's upper half alone (spec INS.ADDR16.1).
const SI = 6, DI = 7, CX = 1;
const index = (cpu: Cpu, d: Decoded, reg: number): number => (cpu.r32[reg] & d.addressMask) >>> 0;
function advance(cpu: Cpu, d: Decoded, reg: number, step: number): void {
  const mask = d.addressMask, value = cpu.r32[reg];
  cpu.r32[reg] = (value & ~mask) | ((value + step) & mask);
}

function moveElement(cpu: Cpu, d: Decoded, step: number): void {
  const value = readMemory(cpu, sourceSegment(d), index(cpu, d, SI), d.size);
  writeMemory(cpu, ES, index(cpu, d, DI), d.size, value);
  advance(cpu, d, SI, step); advance(cpu, d, DI, step);
}
function storeElement(cpu: Cpu, d: Decoded, step: number): void {
  writeMemory(cpu, ES, index(cpu, d, DI), d.size, cpu.readRegister(d.size, 0));
  advance(cpu, d, DI, step);
}
function loadElement(cpu: Cpu, d: Decoded, step: number): void {
  cpu.writeRegister(d.size, 0, readMemory(cpu, sourceSegment(d), index(cpu, d, SI), d.size));
  advance(cpu, d, SI, step);
}
function compareElement(cpu: Cpu, d: Decoded, step: number): void {
  const a = readMemory(cpu, sourceSegment(d), index(cpu, d, SI), d.size);
  const b = readMemory(cpu, ES, index(cpu, d, DI), d.size);
  alu(cpu, 7, a, b, d.size);
  advance(cpu, d, SI, step); advance(cpu, d, DI, step);
}
function scanElement(cpu: Cpu, d: Decoded, step: number): void {
  const b = readMemory(cpu, ES, index(cpu, d, DI), d.size);
  alu(cpu, 7, cpu.readRegister(d.size, 0), b, d.size);
  advance(cpu, d, DI, step);
}
function inputElement(cpu: Cpu, d: Decoded, step: number): void {
  const port = cpu.r16[4];
  // The destination is checked before the port is read.
  writeMemory(cpu, ES, index(cpu, d, DI), d.size, 0);
  writeMemory(cpu, ES, index(cpu, d, DI), d.size, cpu.devices.in(port, d.size));
  advance(cpu, d, DI, step);
}
function outputElement(cpu: Cpu, d: Decoded, step: number): void {
  const port = cpu.r16[4];
  cpu.devices.out(port, d.size, readMemory(cpu, sourceSegment(d), index(cpu, d, SI), d.size));
  advance(cpu, d, SI, step);
}

type Element = (cpu: Cpu, d: Decoded, step: number) => void;

function repeated(element: Element, comparing: boolean) {
  return (cpu: Cpu, d: Decoded): void => {
    const step = stepOf(cpu, d.size);
    if (d.rep === 0 || (index(cpu, d, CX) === 0 && mutated('rep-with-ecx-zero-runs-once'))) { element(cpu, d, step); return; }
    let done = 0;
    while (index(cpu, d, CX) !== 0) {
      const mark = cpu.undoTop;
      try {
        element(cpu, d, step);
      } catch (e) {
        // Elements already done are kept: this step ends with EIP still on
        // the instruction, and the next step raises the fault (INS.STRING.4).
        // The faulting element's page walks (A/D bits, TLB fills) are taken
        // back, as the model drops everything that element did.
        if (done === 0) throw e;
        undoWalks(cpu, mark);
        cpu.next = cpu.eip;
        return;
      }
      done++;
      advance(cpu, d, CX, -1);
      // REPE stops on a mismatch (ZF = 0), REPNE on a match (ZF = 1).
      if (comparing && flag(cpu, ZF) !== (d.rep === 1 ? 1 : 0)) break;
    }
  };
}

export const moveString = repeated(moveElement, false);
export const storeString = repeated(storeElement, false);
export const loadString = repeated(loadElement, false);
export const compareString = repeated(compareElement, true);
export const scanString = repeated(scanElement, true);
/**
 * INS and OUTS check the port's I/O permission once, before the REP count is
 * looked at: with ECX = 0 at CPL > IOPL and the port's bitmap bit set they
 * raise #GP(0) though no element moves, as the host CPU does (spec
 * IO.STRING.2, properties/diff/evidence/rep-io-ecx-zero.c) and as the model does.
 */
const afterIoPermission = (run: (cpu: Cpu, d: Decoded) => void) => (cpu: Cpu, d: Decoded): void => {
  checkIoPermission(cpu, cpu.r16[4], d.size);
  run(cpu, d);
};
export const inputString = afterIoPermission(repeated(inputElement, false));
export const outputString = afterIoPermission(repeated(outputElement, false));
