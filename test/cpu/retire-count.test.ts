// The count of retired instructions, step by step on the model: an
// instruction that retires counts one, whoever builds its state (the retire
// helpers of instructions/common.ts count it themselves, `counted`; the
// cycle counts every other), and a fault or an interrupt counts none. The
// program runs the helpers' instructions, a near RET with a release (its
// state is the jump's, made by a helper, with ESP changed after), a far
// transfer, string instructions, INT n and a fault. About 0.1 s.
import { describe, expect, it } from 'vitest';
import { assembleText } from '../../model/isa/asm/assemble';
import type { Machine, StepEvent } from '../../model/machine';
import { createModelMachine } from '../../properties/machines/model';
import { bareMachineOn, CODE, dword, IDT, SEL } from '../impl/harness';
import { retireCountMutation } from '../../model/cpu/cycle';

const SOURCE = `bits 32
org ${CODE}
start:
  mov eax, 5            ; register write (writeAndRetire)
  add eax, 3            ; register result and flags (writeAndRetireWithFlags)
  add [0x6000], eax     ; memory result and flags
  cmp eax, 8            ; flags only (retireWithFlags)
  nop                   ; retire
  lahf                  ; retire of a register write made before
  jne start             ; not taken
  je over               ; taken (jumpNear)
  hlt
over:
  push 0x11
  push 0x22
  call near_function    ; a push, then the jump
  mov ecx, 3
again:
  loop again            ; three times
  sete bl
  mov esi, 0x6000
  mov edi, 0x6100
  mov ecx, 4
  rep movsd             ; one step
  int 0x1d              ; counts, then the handler runs
  ud2                   ; a fault: counts nothing; its handler skips it
  jmp far [far_pointer] ; a far transfer
far_target:
  out 0xf4, al          ; the exit port: the last instruction, counted
near_function:
  ret 8                 ; pops the return address, releases the two pushes
far_pointer:
  dd far_target
  dw ${SEL.code0}

times 0x280-($-$$) db 0
ud_handler:
  add dword [esp], 2
  iretd
times 0x300-($-$$) db 0
int_handler:
  iretd
`;

function gate(m: Machine, vector: number, handler: number): void {
  dword(m, IDT + 8 * vector, (SEL.code0 << 16) | (handler & 0xffff));
  dword(m, IDT + 8 * vector + 4, ((handler & 0xffff0000) | 0x8e00) >>> 0);
}

/** One for a step that retired an instruction: an ordinary step, the exit,
 * INT n (EXC.SOFT.1: it retires and then delivers) and an instruction
 * followed by its single-step trap (EXC.STEP.1); none for a fault. */
const retires = (e: StepEvent): number =>
  e.kind === 'retired' || e.kind === 'exit' || (e.kind === 'exception' && (e.rule === 'EXC.SOFT.1' || e.rule === 'EXC.STEP.1')) ? 1 : 0;

interface CountRun {
  /** Steps whose count moved by other than `retires`. */
  readonly wrong: string[];
  readonly kinds: string[];
  readonly retired: number;
  readonly count: number;
  readonly espMoved: number;
}

function countRun(): CountRun {
  const r = assembleText({ 'count.asm': SOURCE }, 'count.asm', { format: 'bin' });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => e.message).join('; '));
  const m = bareMachineOn(createModelMachine(4 << 20, { rules: true }), r.bytes);
  gate(m, 6, CODE + 0x280);
  gate(m, 0x1d, CODE + 0x300);
  const esp = m.state().regs.esp;
  const wrong: string[] = [], kinds: string[] = [];
  let retired = 0;
  for (let i = 0; i < 200; i++) {
    const before = m.state().instructionCount;
    const e = m.step();
    const moved = m.state().instructionCount - before;
    if (moved !== retires(e)) wrong.push(`step ${i}: ${JSON.stringify(e)} counted ${moved}`);
    retired += retires(e);
    kinds.push(e.kind === 'exception' ? `exception ${e.vector}` : e.kind);
    if (e.kind !== 'retired' && e.kind !== 'exception') break;
  }
  return { wrong, kinds, retired, count: m.state().instructionCount, espMoved: m.state().regs.esp - esp };
}

describe('[STATE.COUNT.1] each retired instruction counts one', () => {
  it('step by step through the helpers, RET imm16, a far JMP, REP MOVS, INT n and a fault', () => {
    const run = countRun();
    expect(run.wrong).toEqual([]);
    expect(run.kinds.at(-1)).toBe('exit');
    expect(run.kinds).toContain('exception 6');
    expect(run.kinds).toContain('exception 29');
    // By hand: 8 to the taken JE, 2 pushes, CALL, RET 8, MOV, 3 LOOPs,
    // SETE, 3 MOVs, REP MOVSD, INT, the handler's IRETD, UD2's handler (ADD,
    // IRETD), JMP FAR and OUT: 27 instructions.
    expect(run.retired).toBe(27);
    expect(run.count).toBe(27);
    expect(run.espMoved).toBe(0); // RET 8 released both pushes
  });

  it('notices an instruction counted twice (mutant: the cycle counts the helpers\' states again)', () => {
    retireCountMutation.countAgain = true;
    try {
      const run = countRun();
      expect(run.wrong.length).toBeGreaterThan(0);
      expect(run.count).toBeGreaterThan(27);
    } finally {
      retireCountMutation.countAgain = false;
    }
  });
});
