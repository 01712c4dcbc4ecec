// The tagged results every model function returns instead of throwing.
import type { Instruction } from '../isa/ast';
import type { MachineState } from './state';

/**
 * An architectural exception raised by an instruction or an access.
 * For a page fault (vector 14) `address` is the faulting linear address:
 * the paging code cannot return a state together with a fault, so CR2 is
 * written by exception delivery (step.ts) from this field, at the moment the
 * #PF is raised, exactly as the processor loads CR2. `address` is absent for
 * every other vector. (Additive field; the core of the type is the brief's.)
 */
export type Fault = {
  readonly kind: 'fault';
  readonly vector: number;
  readonly errorCode: number | null;
  readonly address?: number;
  /** Bytes the faulting instruction had already stored and that the fault
   * does not take back (physical address, byte value). Only ENTER sets it
   * (INS.STACK.6); every other fault leaves memory as before (EXC.FAULT.1).
   * (Additive field.) */
  readonly keptWrites?: readonly KeptWrite[];
  /** [EXPLAIN.FAULT.1] The id of the spec rule that raised the fault (spec/*.md), e.g.
   * 'SEG.LOAD.4'. Every fault the model raises carries it; impl's faults
   * need not (differential comparisons ignore it). (Additive field.) */
  readonly rule?: string;
};

/** One byte of memory that stays written although its instruction faulted. */
export interface KeptWrite {
  readonly physical: number;
  readonly value: number;
}

export type Result<T> = { readonly kind: 'ok'; readonly value: T } | Fault;

/** What an instruction handler returns. 'halt' is HLT (state already has
 * halted = true and EIP after the HLT); 'model-error' is an instruction or
 * situation the model does not implement (never an architectural fault). */
export type Outcome =
  /** `counted`: the state already counts the instruction as retired
   * (retiredResult, state.ts); otherwise the cycle counts it (cycle.ts). */
  | { readonly kind: 'ok'; readonly state: MachineState; readonly counted?: true }
  | Fault
  | { readonly kind: 'halt'; readonly state: MachineState }
  | { readonly kind: 'model-error'; readonly message: string };

/** Instruction semantics: given the state before, the decoded instruction and
 * the address of the next instruction, the outcome. A handler sets EIP
 * itself (usually to nextEip). */
export type Handler = (state: MachineState, instr: Instruction, nextEip: number) => Outcome;

export const ok = <T>(value: T): Result<T> => ({ kind: 'ok', value });
/**
 * Test-only rule mutants (test/explain.test.ts): with `active` set, a fault
 * raised by rule `from` names `to` instead (undefined: no rule at all), to
 * prove that the explanation tests notice a wrong or missing rule. Null in
 * every normal run, where it costs one comparison per fault.
 */
export const ruleMutation: { active: { readonly from: string; readonly to: string | undefined } | null } = { active: null };

/** A fault of `vector` with `errorCode` (null: none), raised by spec rule
 * `rule`; a page fault also carries its linear `address`. */
export function fault(vector: number, errorCode: number | null, rule: string, address?: number): Fault {
  const m = ruleMutation.active;
  if (m !== null && m.from === rule) {
    const f: Fault = m.to === undefined ? { kind: 'fault', vector, errorCode } : { kind: 'fault', vector, errorCode, rule: m.to };
    return address === undefined ? f : { ...f, address };
  }
  return address === undefined ? { kind: 'fault', vector, errorCode, rule } : { kind: 'fault', vector, errorCode, rule, address };
}
export const modelError = (message: string): Outcome => ({ kind: 'model-error', message });

/** Exception vectors by their manual names. */
export const Vector = {
  DE: 0, DB: 1, NMI: 2, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, DF: 8,
  TS: 10, NP: 11, SS: 12, GP: 13, PF: 14, MF: 16, AC: 17,
} as const;

/** #GP(code) — general protection fault, raised by spec rule `rule`. */
export const gp = (errorCode: number, rule: string): Fault => fault(Vector.GP, errorCode, rule);
/** #UD — invalid opcode, raised by spec rule `rule`. */
export const ud = (rule: string): Fault => fault(Vector.UD, null, rule);
