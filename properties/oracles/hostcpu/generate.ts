// The case generator: draw case sources from the family templates, assemble
// them with nasm (32-bit bytes for the case, 64-bit bytes for the run, see
// harness.c for why), run them on the host CPU, and turn the results into
// case-file records.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CpuCase } from '../../cases/codec';
import { bytesToHex } from '../../cases/codec';
import { modelUndefinedParts } from '../../cases/check';
import { CASE_MEMORY_BYTES } from '../../cases/machines';
import { createModelMachine, type ModelMachine } from '../../machines/model';
import { aluFamily, bitFamily, doubleShiftFamily, multiplyFamily, shiftFamily, unaryFamily } from './families-arith';
import { branchFamily, conditionFamily, faultFamily, moveFamily, stringFamily } from './families-flow';
import { pentiumFamily } from './families-pentium';
import { assembleCases, buildHarness, runNative, type NativeResult } from './harness';
import { createRng, edgeBiased } from './random';
import { CODE_ADDR, GENERAL_REGS, type CaseSource, type Family } from './template';

export const FAMILIES: readonly Family[] = [
  aluFamily, unaryFamily, shiftFamily, doubleShiftFamily, multiplyFamily, bitFamily,
  conditionFamily, moveFamily, stringFamily, branchFamily, faultFamily, pentiumFamily,
];

/** The user-mode stack pointer every case starts with (no template pushes). */
export const INITIAL_ESP = 0x2000f000;
const IF = 0x200;
const RESERVED_BIT_1 = 0x2;

/** Vectors whose delivery pushes an error code. */
const VECTORS_WITH_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);
const PAGE_FAULT = 14;

export interface GenerateOptions {
  readonly seed: number;
  /** Cases drawn per family (a few may be dropped, see `dropped`). */
  readonly countPerFamily: number;
  readonly families?: readonly string[];
}

export interface GenerateResult {
  readonly cases: CpuCase[];
  readonly dropped: { readonly name: string; readonly reason: string }[];
}

/** A seed per family, so adding a family leaves the others' cases alone. */
function familySeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (const ch of name) h = (Math.imul(h ^ ch.charCodeAt(0), 0x01000193) + 0x9e3779b9) >>> 0;
  return h;
}

export interface Drawn {
  readonly name: string;
  readonly source: CaseSource;
  readonly regs: number[];
  readonly eflags: number;
}

export function selectFamilies(names?: readonly string[]): readonly Family[] {
  if (names === undefined || names.length === 0) return FAMILIES;
  return names.map((n) => {
    const family = FAMILIES.find((f) => f.name === n);
    if (family === undefined) throw new Error(`unknown case family '${n}' (known: ${FAMILIES.map((f) => f.name).join(', ')})`);
    return family;
  });
}

/** Generate cases by running their sources on the host CPU. */
export function generateCases(options: GenerateOptions): GenerateResult {
  return runSources(drawSources(options));
}

/** Draw the case sources of a generation, without running anything. */
export function drawSources(options: GenerateOptions): Drawn[] {
  const drawn: Drawn[] = [];
  for (const family of selectFamilies(options.families)) {
    const rng = createRng(familySeed(options.seed, family.name));
    for (let i = 0; i < options.countPerFamily; i++) {
      const source = family.generate(rng);
      const regs = GENERAL_REGS.map((r) => (r === 'esp' ? INITIAL_ESP : source.regs[r] ?? edgeBiased(rng, 32)));
      const name = `${family.name}/${options.seed}/${String(i).padStart(4, '0')}: ${source.title}`;
      drawn.push({ name, source, regs, eflags: (source.eflags | IF | RESERVED_BIT_1) >>> 0 });
    }
  }
  return drawn;
}

/** The case a drawn source starts as, before any processor ran it: `final`
 * is a copy of `init` and the undefined parts are the template's. */
export function unrunCase(d: Drawn, code32: Uint8Array): CpuCase {
  const init = { regs: caseRegs(d.regs, CODE_ADDR, d.eflags), mem: d.source.mem.map((m) => ({ addr: m.addr, hex: bytesToHex(m.bytes) })) };
  return { name: d.name, code: bytesToHex(code32), codeAddr: CODE_ADDR, init, final: init, fault: null, undefinedFlags: d.source.undefinedFlags };
}

const caseRegs = (values: readonly number[], eip: number, eflags: number) => ({
  eax: values[0]!, ecx: values[1]!, edx: values[2]!, ebx: values[3]!, esp: values[4]!, ebp: values[5]!,
  esi: values[6]!, edi: values[7]!, eip, eflags,
});

/** Run hand-written sources (used by tests with known answers). */
export function runCaseSources(sources: readonly { name: string; source: CaseSource }[]): GenerateResult {
  return runSources(sources.map(({ name, source }) => ({
    name, source,
    regs: GENERAL_REGS.map((r) => (r === 'esp' ? source.regs.esp ?? INITIAL_ESP : source.regs[r] ?? 0)),
    eflags: (source.eflags | IF | RESERVED_BIT_1) >>> 0,
  })));
}

function runSources(drawn: readonly Drawn[]): GenerateResult {
  const workDir = mkdtempSync(join(tmpdir(), 'mesovirt-gencases-'));
  try {
    const code32 = assembleCases(drawn.map((d) => d.source.lines), 32, workDir);
    const code64 = assembleCases(drawn.map((d) => d.source.lines), 64, workDir);
    const harness = buildHarness();
    const results = runNative(harness, drawn.map((d, i) => ({
      codeAddr: CODE_ADDR, code: code64[i]!.bytes, regs: d.regs, eflags: d.eflags, mem: d.source.mem,
    })));
    const cases: CpuCase[] = [];
    const dropped: { name: string; reason: string }[] = [];
    const model = createModelMachine(CASE_MEMORY_BYTES);
    drawn.forEach((d, i) => {
      const made = toCase(d, code32[i]!.bytes, code32[i]!.boundaries, code64[i]!.boundaries, results[i]!);
      if (typeof made === 'string') dropped.push({ name: d.name, reason: made });
      else cases.push(withModelUndefinedParts(model, made));
    });
    return { cases, dropped };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * [DIFF.CASE.2] What the case leaves undefined is the model's word, not the
 * host's: run the case on the model and take its ghost masks (undefined
 * flags, registers holding an undefined result). The template's own mask,
 * written from the manual, is only a cross-check
 * (test/cases/undefined-parts.test.ts holds the two equal).
 */
function withModelUndefinedParts(model: ModelMachine, c: CpuCase): CpuCase {
  const parts = modelUndefinedParts(model, c);
  const { undefinedRegisters: _ignored, ...rest } = c;
  return parts.registers.length === 0
    ? { ...rest, undefinedFlags: parts.flags }
    : { ...rest, undefinedFlags: parts.flags, undefinedRegisters: parts.registers };
}

/** Turn a native result into a case, mapping the 64-bit end or fault
 * address back to the 32-bit encoding; a string says why it cannot be. */
function toCase(d: Drawn, code: Uint8Array, boundaries32: readonly number[], boundaries64: readonly number[], r: NativeResult): CpuCase | string {
  if (r.status === 'error') return 'the harness could not map its pages';
  if (r.status === 'timeout') return 'the run did not end within 2 s';
  const offset64 = (r.regs[8]! - CODE_ADDR) >>> 0;
  const k = boundaries64.indexOf(offset64);
  if (k < 0) return `the run ended at offset ${offset64}, not an instruction boundary of the case`;
  const eip = (CODE_ADDR + boundaries32[k]!) >>> 0;
  const finalMem = d.source.mem.map((m, i) => ({ addr: m.addr, hex: r.mem[i] ?? '' }));
  const fault = r.status === 'fault'
    ? {
        vector: r.trapNumber,
        errorCode: VECTORS_WITH_ERROR_CODE.has(r.trapNumber) ? r.errorCode : null,
        cr2: r.trapNumber === PAGE_FAULT ? r.cr2 : null,
      }
    : null;
  return { ...unrunCase(d, code), final: { regs: caseRegs(r.regs, eip, r.regs[9]!), mem: finalMem }, fault };
}
