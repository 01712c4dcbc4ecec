// MOV to and from the debug registers (spec/system.md SYS.DR.*). The
// registers hold what is written; no breakpoint is ever armed.
import type { DebugRegisters } from '../../machine';
import type { Handler } from '../outcome';
import { modelError } from '../outcome';
import { readRegister, writeRegister } from '../context';
import { next, privileged } from './common';
import { update } from '../state';

/** DR4 and DR5 are DR6 and DR7 (CR4.DE, which would make them #UD, is not implemented). */
const field = (n: number): keyof DebugRegisters =>
  (['dr0', 'dr1', 'dr2', 'dr3', 'dr6', 'dr7', 'dr6', 'dr7'] as const)[n]!;

/** DR7 enable bits L0-G3 (0-7) and GD (13): arming a breakpoint. */
const DR7_ARMS = 0x20ff;

/**
 * [SYS.DR.1] MOV to or from DRn is privileged (#GP(0) at CPL > 0); the mod
 * field is ignored as for MOV CRn. DR4 and DR5 alias DR6 and DR7. DR6 reads
 * its reserved bits 4-11 and 16-31 as 1 and keeps B0-B3, BD, BS, BT; DR7
 * reads bit 10 as 1 and bits 11, 12, 14, 15 as 0. [SYS.DR.2] Writing DR7 with
 * a breakpoint enabled (L0-G3) or with GD set stops the model with a model
 * error: breakpoints and general detection are not modelled. Clearing DR7,
 * which is what a kernel does at boot, is fine.
 */
export const moveDebugRegister: Handler = privileged((state, instr, nextEip) => {
  const [dst, src] = instr.operands;
  if (dst?.kind === 'dreg' && src?.kind === 'reg') {
    const value = readRegister(state, 32, src.reg);
    const name = field(dst.reg);
    if (name === 'dr7' && (value & DR7_ARMS) !== 0) return modelError(`MOV to DR7 0x${value.toString(16)}: hardware breakpoints are not modelled`);
    const stored = name === 'dr6' ? ((value & 0xe00f) | 0xffff0ff0) >>> 0 : name === 'dr7' ? ((value & 0xffff23ff) | 0x400) >>> 0 : value;
    return next(update(state, { debug: { ...state.debug, [name]: stored } }), nextEip);
  }
  if (dst?.kind === 'reg' && src?.kind === 'dreg') return next(writeRegister(state, 32, dst.reg, state.debug[field(src.reg)]), nextEip);
  throw new Error('model bug: MOV DRn form');
});
