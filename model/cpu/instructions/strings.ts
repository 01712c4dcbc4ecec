// Handlers for the string instructions MOVS, CMPS, STOS, LODS and SCAS, with
// and without REP/REPE/REPNE. They address through ESI, EDI and count in
// ECX, or through SI, DI and CX with the address-size prefix (INS.ADDR16.1).
import type { Instruction, OperandSize, SegmentName } from '../../isa/ast';
import { addressWidth, toWidth, type AddressWidth } from '../address-width';
import { cmp } from '../arith/alu';
import { readMemory, readRegister, writeMemory, writeRegister } from '../context';
import { DF, ZF } from '../eflags';
import type { Handler, Outcome, Result } from '../outcome';
import type { MachineState } from '../state';
import { applyFlags, EAX, ECX, EDI, ESI, retire } from './common';

type StringKind = 'movs' | 'cmps' | 'stos' | 'lods' | 'scas';

// [INS.STRING.1] The source element is at seg:ESI, where seg is DS or the
// segment override prefix; the destination element is always at ES:EDI (an
// override never applies to it). After each element ESI and/or EDI move by
// the element size: forward when DF = 0, backward when DF = 1.
const sourceSegment = (instr: Instruction): SegmentName => instr.segment ?? 'ds';

function advance(state: MachineState, reg: number, size: OperandSize, width: AddressWidth): MachineState {
  const step = state.eflags & DF ? -(size / 8) : size / 8;
  return writeRegister(state, width, reg, toWidth(readRegister(state, width, reg) + step, width));
}

/** One element of a string instruction. */
function element(kind: StringKind, state: MachineState, instr: Instruction, size: OperandSize): Result<MachineState> {
  const width = addressWidth(instr);
  const esi = readRegister(state, width, ESI);
  const edi = readRegister(state, width, EDI);
  const accumulator = readRegister(state, size, EAX);
  switch (kind) {
    case 'movs': {
      const src = readMemory(state, sourceSegment(instr), esi, size);
      if (src.kind !== 'ok') return src;
      const written = writeMemory(src.value.state, 'es', edi, size, src.value.value);
      if (written.kind !== 'ok') return written;
      return { kind: 'ok', value: advance(advance(written.value, ESI, size, width), EDI, size, width) };
    }
    case 'stos': {
      const written = writeMemory(state, 'es', edi, size, accumulator);
      if (written.kind !== 'ok') return written;
      return { kind: 'ok', value: advance(written.value, EDI, size, width) };
    }
    case 'lods': {
      const src = readMemory(state, sourceSegment(instr), esi, size);
      if (src.kind !== 'ok') return src;
      return { kind: 'ok', value: advance(writeRegister(src.value.state, size, EAX, src.value.value), ESI, size, width) };
    }
    // [INS.STRING.2] CMPS sets the flags of CMP [seg:ESI], [ES:EDI] (the
    // source minus the destination); SCAS those of CMP accumulator, [ES:EDI].
    case 'cmps': {
      const a = readMemory(state, sourceSegment(instr), esi, size);
      if (a.kind !== 'ok') return a;
      const b = readMemory(a.value.state, 'es', edi, size);
      if (b.kind !== 'ok') return b;
      const flags = cmp(size, a.value.value, b.value.value, state.eflags);
      return { kind: 'ok', value: applyFlags(advance(advance(b.value.state, ESI, size, width), EDI, size, width), flags) };
    }
    case 'scas': {
      const b = readMemory(state, 'es', edi, size);
      if (b.kind !== 'ok') return b;
      const flags = cmp(size, accumulator, b.value.value, state.eflags);
      return { kind: 'ok', value: applyFlags(advance(b.value.state, EDI, size, width), flags) };
    }
  }
}

/**
 * [INS.STRING.3] With a REP prefix the element repeats while ECX ≠ 0,
 * decrementing ECX after each element; ECX = 0 at the start does nothing at
 * all (no access, no flag change). CMPS and SCAS also stop after an element
 * when ZF = 0 under REPE (REPZ) or ZF = 1 under REPNE (REPNZ). For MOVS,
 * STOS and LODS, REPE and REPNE act as REP.
 * [INS.STRING.4] Each iteration is restartable: when an element faults, the
 * fault is raised with ESI, EDI, ECX and memory as they were after the last
 * completed element, and EIP at the string instruction. The model runs all
 * iterations in one step; when an element other than the first faults, the
 * step retires the completed elements with EIP left at the instruction, and
 * the next step raises the fault on that element with nothing else changed.
 * (The manual allows the processor to stop between iterations; we choose
 * this way of doing it so that a fault is always precise.)
 */
const stringHandler = (kind: StringKind): Handler => (state, instr, nextEip): Outcome => {
  const size = instr.elementSize ?? 8;
  if (instr.rep === null) {
    const r = element(kind, state, instr, size);
    return r.kind === 'ok' ? retire(r.value, nextEip) : r;
  }
  const comparing = kind === 'cmps' || kind === 'scas';
  const width = addressWidth(instr);
  let s = state;
  let done = 0;
  while (readRegister(s, width, ECX) !== 0) {
    const r = element(kind, s, instr, size);
    if (r.kind !== 'ok') return done === 0 ? r : { kind: 'ok', state: s };
    s = writeRegister(r.value, width, ECX, toWidth(readRegister(r.value, width, ECX) - 1, width));
    done++;
    // The F3 prefix on CMPS/SCAS is REPE, whichever name the decoder gives it.
    if (comparing && instr.rep !== 'repne' && (s.eflags & ZF) === 0) break;
    if (comparing && instr.rep === 'repne' && (s.eflags & ZF) !== 0) break;
  }
  return retire(s, nextEip);
};

export const stringHandlers: Readonly<Record<string, Handler>> = {
  movs: stringHandler('movs'), cmps: stringHandler('cmps'), stos: stringHandler('stos'),
  lods: stringHandler('lods'), scas: stringHandler('scas'),
};
