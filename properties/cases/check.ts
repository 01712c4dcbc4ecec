// Checking a case on a machine: build the machine the case describes, run
// until EIP leaves the code bytes or an exception is delivered, and compare
// with what the real processor left.
//
// For a fault, EIP, ESP and EFLAGS are read from the frame the delivery
// pushed on the ring-0 stack (so delivery is checked too: the frame's CS and
// SS must be the user selectors, and the machine must be at the handler in
// ring 0); the general registers are compared as the machine left them.
import type { Machine, StepEvent } from '../../model/machine';
import type { ModelMachine } from '../machines/model';
import { GENERAL_REG_NAMES, bytesToHex, hexToBytes, type CpuCase, type GeneralRegName } from './codec';
import { HANDLER_BASE, KERNEL_CODE, USER_CODE, USER_DATA, buildCaseMachine, physicalOf } from './setup';

/** More steps than any case needs (the longest loop or REP runs a few dozen). */
const MAX_STEPS = 1000;

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

export interface CaseVerdict {
  readonly name: string;
  /** Empty when the case passed. */
  readonly differences: readonly string[];
}

type RunEnd =
  | { readonly kind: 'left-code' }
  /** An exception was delivered: reported as such by the machine (with
   * its error code), or seen as a retired INT3/INTO that landed in a
   * handler (a software exception may be modelled as an instruction). */
  | { readonly kind: 'exception'; readonly vector: number; readonly reported: { readonly errorCode: number | null } | null }
  | { readonly kind: 'stopped'; readonly why: string };

/** Vectors whose delivery pushes an error code. */
const VECTORS_WITH_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);

function describeEvent(event: StepEvent): string {
  switch (event.kind) {
    case 'halted': return 'the machine halted';
    case 'shutdown': return `the machine shut down (${event.reason})`;
    case 'exit': return `the machine exited with code ${event.code}`;
    case 'model-error': return `model error: ${event.message}`;
    case 'interrupt': return `an unexpected interrupt (vector ${event.vector})`;
    default: return event.kind;
  }
}

function run(machine: Machine, c: CpuCase): RunEnd {
  const end = (c.codeAddr + c.code.length / 2) >>> 0;
  const inside = (eip: number): boolean => ((eip - c.codeAddr) >>> 0) < ((end - c.codeAddr) >>> 0);
  for (let i = 0; i < MAX_STEPS; i++) {
    const event = machine.step();
    if (event.kind === 'exception') return { kind: 'exception', vector: event.vector, reported: { errorCode: event.errorCode } };
    if (event.kind !== 'retired') return { kind: 'stopped', why: describeEvent(event) };
    const s = machine.state();
    if (inside(s.eip)) continue;
    const vector = s.eip - HANDLER_BASE;
    if (s.segments.cs.selector === KERNEL_CODE && vector >= 0 && vector < 256) return { kind: 'exception', vector, reported: null };
    return { kind: 'left-code' };
  }
  return { kind: 'stopped', why: `still inside the code after ${MAX_STEPS} steps` };
}

function faultText(vector: number, errorCode: number | null): string {
  return errorCode === null ? `vector ${vector}` : `vector ${vector} error ${hex(errorCode)}`;
}

/** Put the machine the case describes into `machine` (every page it needs
 * is rewritten), or say why it does not fit. */
function loadCase(machine: Machine, c: CpuCase): ReturnType<typeof buildCaseMachine> | string {
  const image = buildCaseMachine(c);
  if (image.memoryNeeded > machine.memorySize) return `needs ${image.memoryNeeded} bytes of memory, the machine has ${machine.memorySize}`;
  for (const w of image.writes) machine.writePhysical(w.address, w.bytes);
  machine.setState(image.state);
  return image;
}

/** Check one case; the machine is reused (every page it needs is rewritten). */
export function checkCase(machine: Machine, c: CpuCase): CaseVerdict {
  const image = loadCase(machine, c);
  if (typeof image === 'string') return { name: c.name, differences: [image] };

  const differences: string[] = [];
  const differ = (what: string, expected: number, got: number, mask = 0xffffffff): void => {
    if (((expected ^ got) & mask) !== 0) differences.push(`${what}: expected ${hex(expected)} got ${hex(got)}`);
  };
  const flagMask = ~c.undefinedFlags >>> 0;
  const expected = c.final.regs;
  const ended = run(machine, c);
  const s = machine.state();

  if (ended.kind === 'stopped') return { name: c.name, differences: [ended.why] };
  if (ended.kind === 'left-code' && c.fault !== null) {
    differences.push(`expected ${faultText(c.fault.vector, c.fault.errorCode)}, got none (left the code at ${hex(s.eip)})`);
  }
  if (ended.kind === 'exception' && c.fault === null) {
    differences.push(`expected no fault, got ${faultText(ended.vector, ended.reported?.errorCode ?? null)} at ${hex(s.eip)}`);
    return { name: c.name, differences };
  }

  // Registers: for a fault, EIP/ESP/EFLAGS come from the delivery frame.
  let eip = s.eip, esp = s.regs.esp, eflags = s.eflags;
  if (ended.kind === 'exception' && c.fault !== null) {
    differ('fault vector', c.fault.vector, ended.vector);
    // The gate the machine went through must be the vector's own.
    differ('handler eip', HANDLER_BASE + ended.vector, s.eip);
    differ('handler cs', KERNEL_CODE, s.segments.cs.selector);
    if (c.fault.cr2 !== null) differ('cr2', c.fault.cr2, s.cr2);
    const hasErrorCode = VECTORS_WITH_ERROR_CODE.has(ended.vector);
    const words = hasErrorCode ? 6 : 5;
    const frameAt = physicalOf(image, s.regs.esp);
    if (frameAt === undefined || frameAt + 4 * words > machine.memorySize) {
      differences.push(`ring-0 ESP ${hex(s.regs.esp)} is not on the ring-0 stack`);
    } else {
      // The frame, from the top: [error code], EIP, CS, EFLAGS, ESP, SS.
      const bytes = machine.readPhysical(frameAt, 4 * words);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const at = (i: number): number => view.getUint32(4 * (i + words - 5), true);
      const pushedError = hasErrorCode ? view.getUint32(0, true) : null;
      if (ended.reported !== null && ended.reported.errorCode !== pushedError) {
        differences.push(`error code: the event says ${ended.reported.errorCode ?? 'none'}, the frame holds ${pushedError ?? 'none'}`);
      }
      if (c.fault.errorCode === null || pushedError === null) {
        if (c.fault.errorCode !== pushedError) {
          differences.push(`fault error code: expected ${c.fault.errorCode ?? 'none'} got ${pushedError ?? 'none'}`);
        }
      } else {
        differ('fault error code', c.fault.errorCode, pushedError);
      }
      eip = at(0);
      differ('frame cs', USER_CODE, at(1) & 0xffff);
      eflags = at(2);
      esp = at(3);
      differ('frame ss', USER_DATA, at(4) & 0xffff);
    }
  }
  differ('eip', expected.eip, eip);
  differ('esp', expected.esp, esp);
  differ(`eflags (undefined ${hex(c.undefinedFlags)} masked)`, expected.eflags, eflags, flagMask);
  // [DIFF.CASE.2] A register whose final value the architecture leaves
  // undefined is not compared, whatever the processor wrote there.
  const undefinedRegisters = new Set<string>(c.undefinedRegisters ?? []);
  for (const r of ['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi'] as const) {
    if (!undefinedRegisters.has(r)) differ(r, expected[r], s.regs[r]);
  }

  // Memory regions.
  c.final.mem.forEach((region) => {
    const length = region.hex.length / 2;
    const got = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      const p = physicalOf(image, (region.addr + i) >>> 0);
      got[i] = p === undefined ? 0 : machine.readPhysical(p, 1)[0]!;
    }
    const want = hexToBytes(region.hex);
    const firstDiff = want.findIndex((b, i) => b !== got[i]);
    if (firstDiff >= 0) {
      differences.push(`mem ${hex(region.addr)}: first difference at ${hex(region.addr + firstDiff)}: expected ${bytesToHex(want)} got ${bytesToHex(got)}`);
    }
  });
  return { name: c.name, differences };
}

/** What the model leaves architecturally undefined when it runs a case:
 * its ghost masks (INS.RESULT.1, the undefinedFlags of spec/instructions.md)
 * at the end of the run, whether the run ended by leaving the code or by an
 * exception. The case's own `final` is not looked at. */
export function modelUndefinedParts(model: ModelMachine, c: CpuCase): { readonly flags: number; readonly registers: GeneralRegName[]; readonly faulted: boolean } {
  const image = loadCase(model, c);
  if (typeof image === 'string') throw new Error(`${c.name}: ${image}`);
  const ended = run(model, c);
  const ghost = model.modelState();
  return {
    faulted: ended.kind === 'exception',
    flags: ghost.undefinedFlags,
    registers: GENERAL_REG_NAMES.filter((_, i) => (ghost.undefinedRegisters & (1 << i)) !== 0),
  };
}

export interface Exclusion { readonly name: string; readonly reason: string }

export interface CheckSummary {
  readonly verdicts: readonly CaseVerdict[];
  readonly passed: number;
  readonly failed: number;
  readonly excluded: number;
}

/** Check many cases on one machine, skipping the listed exclusions. */
export function checkCases(machine: Machine, cases: readonly CpuCase[], exclusions: readonly Exclusion[] = []): CheckSummary {
  const excludedNames = new Set(exclusions.map((e) => e.name));
  const verdicts = cases.filter((c) => !excludedNames.has(c.name)).map((c) => checkCase(machine, c));
  const failed = verdicts.filter((v) => v.differences.length > 0).length;
  return { verdicts, passed: verdicts.length - failed, failed, excluded: cases.length - verdicts.length };
}

/** One line per failing case, as the format asks. */
export function failureLine(v: CaseVerdict): string {
  return `FAIL ${v.name}: ${v.differences.join('; ')}`;
}
