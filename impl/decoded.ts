// One decoded instruction: everything the executor needs, read once from
// the bytes. Decoded objects are cached per physical address (step.ts), so
// an instruction's bytes are decoded once however often it runs.
import type { Cpu } from './cpu';

/** Executes a decoded instruction; throws CpuFault for exceptions. */
export type Exec = (cpu: Cpu, d: Decoded) => void;

export class Decoded {
  exec: Exec;
  /** Mnemonic family, for traces and errors. */
  name = '';
  length = 0;
  /** Operand size in bytes for this instruction (1, 2 or 4). */
  size = 4;
  /** 2 with a 0x66 prefix, else 4. */
  operandSize = 4;
  /** ModRM fields; with mod 3 the r/m operand is register `rm`. */
  mod = 3; reg = 0; rm = 0;
  /** Memory operand: disp + base + index << scale (base/index -1 if absent). */
  base = -1; index = -1; scale = 0; disp = 0;
  /** 0xFFFF with 16-bit addressing (a 0x67 prefix), else 0xFFFFFFFF. */
  addressMask = 0xffffffff;
  /** Segment of the memory operand (override or default), and the override alone (-1). */
  segment = 3; override = -1;
  imm = 0; imm2 = 0;
  /** 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
  rep = 0;
  /** Family-specific selector: ALU operation, condition code, group member. */
  variant = 0;
  lock = false;

  constructor(exec: Exec) {
    this.exec = exec;
  }
}
