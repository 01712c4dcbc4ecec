// The machine has no coprocessor (DESIGN.md §3, spec/system.md SYS.FPU.*):
// the x87 escapes D8..DF and WAIT are decoded in full and run as on an
// IA-32 processor with nothing on its coprocessor bus.
import { X87_MNEMONICS } from '../../isa/opcodes';
import type { Handler } from '../outcome';
import { fault, Vector } from '../outcome';
import { next } from './common';

const CR0_MP = 1 << 1, CR0_EM = 1 << 2, CR0_TS = 1 << 3;

/**
 * [SYS.FPU.1] An x87 escape raises #NM when CR0.EM is set (the system
 * emulates the coprocessor in software) or when CR0.TS is set (the
 * coprocessor's state belongs to another task); the manual's table of
 * CR0.MP/EM/TS (SDM vol. 3, 2.5 and 9.2) gives #NM for ESC in both cases.
 * [SYS.FPU.2] Otherwise the instruction goes to a coprocessor that is not
 * there: nothing happens. Its memory operand is not read or written, no
 * register or flag changes, EIP moves on. So FNINIT initialises nothing and
 * FNSTSW and FNSTCW store nothing, and the classic probe (`fninit; fnstsw`
 * into a word preset to a non-zero value) finds the word unchanged: no FPU.
 * The manual does not describe a processor without a coprocessor and with
 * CR0.EM clear (it tells system software to set EM then); this is our
 * choice, and what the i386/i486SX probe in Linux (fpu__init_check_fpu and
 * its successors) expects of such a machine.
 */
const escape: Handler = (state, _instr, nextEip) =>
  (state.cr0 & (CR0_EM | CR0_TS)) !== 0 ? fault(Vector.NM, null, 'SYS.FPU.1') : next(state, nextEip);

/**
 * [SYS.FPU.3] WAIT/FWAIT raises #NM when CR0.TS and CR0.MP are both set (the
 * manual's table: EM does not matter for WAIT); otherwise it waits for a
 * coprocessor that never has an error pending, which is no wait at all.
 */
const wait: Handler = (state, _instr, nextEip) =>
  (state.cr0 & CR0_TS) !== 0 && (state.cr0 & CR0_MP) !== 0 ? fault(Vector.NM, null, 'SYS.FPU.3') : next(state, nextEip);

export const fpuHandlers: Record<string, Handler> = {
  wait,
  ...Object.fromEntries(X87_MNEMONICS.map((m) => [m, escape])),
};
