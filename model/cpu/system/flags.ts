// HLT, CLI, STI, PUSHF, POPF: the instructions that read or change IF and IOPL.
import type { Handler } from '../outcome';
import { gp } from '../outcome';
import { applied, explaining } from '../applied';
import { cpl, pop, push } from '../context';
import { AC, ID, IF, iopl, VM, RF, setEflags } from '../eflags';
import { changeableFlags } from '../privilege';
import { next, privileged } from './common';
import { update } from '../state';

/** [IO.IF.1] CLI and STI need CPL <= IOPL, else #GP(0). [IO.IF.2] STI that
 * sets IF delays interrupt recognition until after the next instruction. */
const cli: Handler = (state, _instr, nextEip) => {
  if (cpl(state) > iopl(state.eflags)) return gp(0, 'IO.IF.1');
  if (explaining()) applied('IO.IF.1', `CPL ${cpl(state)} ≤ IOPL ${iopl(state.eflags)}: IF cleared`);
  return next(update(state, { eflags: (state.eflags & ~IF) >>> 0 }), nextEip);
};

const sti: Handler = (state, _instr, nextEip) => {
  if (cpl(state) > iopl(state.eflags)) return gp(0, 'IO.IF.1');
  if (explaining()) applied('IO.IF.1', `CPL ${cpl(state)} ≤ IOPL ${iopl(state.eflags)}: IF set`);
  const shadow = (state.eflags & IF) === 0;
  return next(update(state, { eflags: (state.eflags | IF) >>> 0, interruptShadow: shadow || state.interruptShadow }), nextEip);
};

/** [EXC.HALT.2] HLT (CPL 0 only) stops fetching until an interrupt; the
 * interrupt's return address is the instruction after HLT. */
const hlt: Handler = privileged((state, _instr, nextEip) => ({ kind: 'halt', state: update(state, { eip: nextEip, halted: true }) }));

/** [PRIV.PUSHF.1] PUSHF pushes EFLAGS with VM and RF cleared (as the manual
 * says for the image on the stack); it never faults for privilege in
 * protected mode — one of the sensitive instructions a guest can use to see
 * its real IF and IOPL. */
const pushf: Handler = (state, instr, nextEip) => {
  const value = (state.eflags & ~(VM | RF)) >>> 0;
  const pushed = push(state, instr.operandSize === 16 ? value & 0xffff : value, instr.operandSize);
  return pushed.kind === 'ok' ? next(pushed.value, nextEip) : pushed;
};

/** [PRIV.POPF.1] POPF changes the flags IRET may change except RF, which it
 * clears; IOPL only at CPL 0, IF only when CPL <= IOPL. Other bits keep
 * their value silently: POPF never faults for privilege (it is sensitive). */
const popf: Handler = (state, instr, nextEip) => {
  const popped = pop(state, instr.operandSize);
  if (popped.kind !== 'ok') return popped;
  const mask = changeableFlags(cpl(state), state.eflags, instr.operandSize, instr.operandSize === 32 ? AC | ID : 0);
  const s = setEflags(popped.value.state, popped.value.value & mask, mask | RF);
  return next(s, nextEip);
};

export const flagHandlers: Record<string, Handler> = { cli, sti, hlt, pushf, popf };
