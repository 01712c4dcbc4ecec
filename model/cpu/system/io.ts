// IN, OUT, INS, OUTS and the I/O permission checks.
import { addressWidth, toWidth } from '../address-width';
import type { Instruction } from '../../isa/ast';
import { update, type MachineState } from '../state';
import type { Handler, Result } from '../outcome';
import { gp } from '../outcome';
import { applied, explaining } from '../applied';
import { cpl, readLinear, readMemory, readRegister, writeMemory, writeRegister, type Outcome } from '../context';
import { clockAt, portRead, portWrite } from '../devices';
import { DF, iopl } from '../eflags';
import { next, operand } from './common';
import { match } from 'ts-pattern';

/**
 * [IO.PERM.1] At CPL <= IOPL every port is allowed. Otherwise the TSS I/O
 * permission bitmap decides: TR must hold a 32-bit TSS at least 104 bytes
 * long; the bitmap starts at the 16-bit offset stored at TSS offset 102; an
 * access of n bytes at port p needs bits p .. p+n-1 all clear, and the two
 * bytes holding them within the TSS limit; anything else is #GP(0).
 */
export function ioAllowed(state: MachineState, port: number, bytes: number): Result<MachineState> {
  if (cpl(state) <= iopl(state.eflags)) {
    if (explaining()) applied('IO.PERM.1', `port 0x${port.toString(16)}: CPL ${cpl(state)} ≤ IOPL ${iopl(state.eflags)}`);
    return { kind: 'ok', value: state };
  }
  const tr = state.tr;
  const type = tr.attributes & 0x1f;
  if (!tr.valid || (type !== 0x09 && type !== 0x0b) || tr.limit < 103) return gp(0, 'IO.PERM.1');
  const baseRead = readLinear(state, tr.base + 102, 2, false);
  if (baseRead.kind !== 'ok') return baseRead;
  const offset = baseRead.value.value + (port >>> 3);
  if (offset + 1 > tr.limit) return gp(0, 'IO.PERM.1');
  const bits = readLinear(baseRead.value.state, tr.base + offset, 2, false);
  if (bits.kind !== 'ok') return bits;
  const wanted = ((1 << bytes) - 1) << (port & 7);
  if (bits.value.value & wanted) return gp(0, 'IO.PERM.1');
  if (explaining()) applied('IO.PERM.1', `port 0x${port.toString(16)}: CPL ${cpl(state)} > IOPL ${iopl(state.eflags)}, its bits in the TSS bitmap are clear`);
  return { kind: 'ok', value: bits.value.state };
}

function portOf(state: MachineState, instr: Instruction, index: number): number {
  const op = operand(instr, index);
  return op.kind === 'imm' ? op.value & 0xff : readRegister(state, 16, 2);
}

const sizeOf = (instr: Instruction, index: number): 8 | 16 | 32 => {
  const op = operand(instr, index);
  if (op.kind !== 'reg') throw new Error('model bug: IN/OUT accumulator operand expected');
  return op.size;
};

const inHandler: Handler = (state, instr, nextEip) => {
  const port = portOf(state, instr, 1);
  const size = sizeOf(instr, 0);
  const allowed = ioAllowed(state, port, size / 8);
  if (allowed.kind !== 'ok') return allowed;
  const r = portRead(allowed.value.devices, port, size, clockAt(state.devices, state.instructionCount));
  return next(writeRegister(update(allowed.value, { devices: r.devices }), size, 0, r.value), nextEip);
};

const outHandler: Handler = (state, instr, nextEip) => {
  const port = portOf(state, instr, 0);
  const size = sizeOf(instr, 1);
  const allowed = ioAllowed(state, port, size / 8);
  if (allowed.kind !== 'ok') return allowed;
  const value = readRegister(state, size, 0);
  return next(update(allowed.value, { devices: portWrite(allowed.value.devices, port, size, value, clockAt(state.devices, state.instructionCount)) }), nextEip);
};

/**
 * [IO.STRING.1] INS reads port DX into ES:EDI, OUTS writes DS:ESI (segment
 * override allowed) to port DX; EDI/ESI move by the element size, down when
 * DF is set. With REP, ECX elements are moved in one step. When an element
 * other than the first faults, the step retires the completed elements with
 * EIP left on the instruction, and the next step raises the fault (as the
 * string instructions do, INS.STRING.4).
 */
function stringIo(direction: 'in' | 'out'): Handler {
  return (state, instr, nextEip) => {
    const size = instr.elementSize ?? 8;
    const bytes = size / 8;
    const port = readRegister(state, 16, 2);
    // [IO.STRING.2] The permission is checked before the REP count is
    // looked at: with ECX = 0 a port that is not allowed still faults.
    const allowed = ioAllowed(state, port, bytes);
    if (allowed.kind !== 'ok') return allowed;
    let s = allowed.value;
    const delta = state.eflags & DF ? -bytes : bytes;
    // Every element of one instruction sees the same clock (it ticks when the instruction retires).
    const clock = clockAt(state.devices, state.instructionCount);
    const repeat = instr.rep !== null;
    const indexReg = direction === 'in' ? 7 : 6;
    // [INS.ADDR16.1] DI or SI and the count CX with the address-size prefix.
    const width = addressWidth(instr);
    let lastFault: Outcome | null = null;
    while (!repeat || readRegister(s, width, 1) !== 0) {
      const index = readRegister(s, width, indexReg);
      const moved: Result<MachineState> = match(direction)
        .with('in', (): Result<MachineState> => {
          const r = portRead(s.devices, port, size, clock);
          const w = writeMemory(update(s, { devices: r.devices }), 'es', index, size, r.value);
          return w;
        })
        .with('out', (): Result<MachineState> => {
          const r = readMemory(s, instr.segment ?? 'ds', index, size);
          if (r.kind !== 'ok') return r;
          return { kind: 'ok', value: { ...r.value.state, devices: portWrite(r.value.state.devices, port, size, r.value.value, clock) } };
        })
        .exhaustive();
      if (moved.kind !== 'ok') { lastFault = moved; break; }
      s = writeRegister(moved.value, width, indexReg, toWidth(index + delta, width));
      if (!repeat) break;
      s = writeRegister(s, width, 1, toWidth(readRegister(s, width, 1) - 1, width));
    }
    if (lastFault !== null) {
      // A fault on the first element (or without REP) leaves the instruction
      // unstarted; after some elements, keep the progress, stay on the
      // instruction, and let the next step fault.
      if (s === allowed.value) return lastFault;
      return { kind: 'ok', state: s };
    }
    return next(s, nextEip);
  };
}

export const ioHandlers: Record<string, Handler> = { in: inHandler, out: outHandler, ins: stringIo('in'), outs: stringIo('out') };
