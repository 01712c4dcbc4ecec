// [VMM.TSC.1] [VMM.MSR.1] gandalf mirrors the guest's CR4.TSD into the real
// CR4 and emulates RDTSC, RDMSR and WRMSR at ring 1 as model/vmm does, in
// the three memory modes: checked by refinement (every unit compared) on a
// ring-1 guest that sets TSD and reads the counter and the MSRs, and a
// ring-3 guest whose RDTSC then faults; the mutant that leaves the real TSD
// alone is caught. About 5 s.
import { describe, expect, it } from 'vitest';
import type { Instruction, Operand } from '../../model/isa/ast';
import { hostileImage } from '../../properties/vmm/hostile';
import { flatDescriptors } from '../../properties/gandalf/tour-gdt';
import { checkRefinement } from '../../properties/gandalf/refine';
import { MEMORY_MODES } from '../../model/vmm/memory/types';

const reg = (r: number): Operand => ({ kind: 'reg', size: 32, reg: r });
const imm = (value: number): Operand => ({ kind: 'imm', size: 32, value: value >>> 0 });
const insn = (mnemonic: string, ...operands: Operand[]): Instruction => ({ mnemonic, operands, operandSize: 32, segment: null, rep: null, lock: false });
const EAX = 0, ECX = 1;
const msr = (op: 'rdmsr' | 'wrmsr', number: number, value = 0): Instruction[] =>
  [insn('mov', reg(ECX), imm(number)), ...(op === 'wrmsr' ? [insn('mov', reg(EAX), imm(value))] : []), insn(op)];
const CR4_TSD = 4;

/** Ring 1, CR4.TSD set: RDTSC (emulated), the SYSENTER MSRs written then read
 * back (virtual), RDMSR and WRMSR of the TSC (the counter; a refusal), an
 * MSR neither machine has (#GP reflected), then TSD cleared and RDTSC run
 * directly. */
const ring1Guest = (): Uint8Array => hostileImage({
  ring: 1, timer: null, gdt: flatDescriptors(), cr4: CR4_TSD,
  program: [
    insn('rdtsc'),
    msr('wrmsr', 0x174, 0x1234), msr('wrmsr', 0x175, 0x5678), msr('wrmsr', 0x176, 0x9abc),
    msr('rdmsr', 0x174), msr('rdmsr', 0x175), msr('rdmsr', 0x176),
    msr('rdmsr', 0x10), msr('wrmsr', 0x10, 7), msr('rdmsr', 0x1b),
    [insn('mov', reg(EAX), imm(0)), insn('mov', { kind: 'creg', reg: 4 }, reg(EAX))],
    insn('rdtsc'),
  ],
});

/** Ring 3 under a kernel that set CR4.TSD: RDTSC faults #GP(0), reflected. */
const ring3Guest = (): Uint8Array => hostileImage({ ring: 3, timer: null, gdt: flatDescriptors(), cr4: CR4_TSD, program: [insn('rdtsc'), insn('rdtsc')] });

describe('[VMM.TSC.1] [VMM.MSR.1] RDTSC, RDMSR, WRMSR and CR4.TSD under gandalf', () => {
  for (const mode of MEMORY_MODES) {
    it(`${mode}: the ring-1 guest refines model/vmm; the MSRs read back what it wrote, the TSC write is refused`, () => {
      const r = checkRefinement(ring1Guest(), { mode, maxUnits: 400 });
      expect(r.divergence).toBeNull();
      // Ten RDTSC/RDMSR/WRMSR exits (1 + 3 + 3 + 3); the last RDTSC runs directly, TSD clear.
      expect(r.exitsByReason['emulate (other)']).toBe(10);
      expect(r.exitsByReason['emulate mov']).toBe(2); // the prologue's MOV CR4 and the program's
      // The checker compared, after every exit, the registers (each RDMSR of a
      // SYSENTER MSR gives back what the guest wrote: 0x1234, 0x5678, 0x9abc,
      // under both monitors), the real CR4 (TSD set, then clear) and the
      // refusals (the WRMSR to the TSC): a gandalf that got one wrong diverges.
    }, 30_000);

    it(`${mode}: at ring 3 RDTSC faults, reflected to the guest, as the real TSD says`, () => {
      const r = checkRefinement(ring3Guest(), { mode, maxUnits: 400 });
      expect(r.divergence).toBeNull();
      expect(r.exitsByReason['reflect 13']).toBe(2);
    }, 30_000);
  }

  it('the mutant that leaves the real TSD clear is caught', () => {
    const r = checkRefinement(ring3Guest(), { maxUnits: 400, defines: { MUTANT_TSD_NOT_MIRRORED: '' } });
    expect(r.divergence).not.toBeNull();
    expect(r.divergence!.differences.join(' ')).toContain('real cr4');
  }, 30_000);
});
