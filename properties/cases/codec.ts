// The CPU case file format (../shared/formats/cpu-case.md) as an io-ts codec:
// one JSON object per line, holding a short instruction sequence, the state
// before it and the state a real processor left after it.
//
// The reader never throws on bad input with a stack trace: it collects one
// message per bad line, `file:line: field <path>: <what is wrong>`, and the
// caller decides how to report them.
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';

/** An unsigned 32-bit integer, as every number in a case file is. */
export const U32 = new t.Type<number, number, unknown>(
  'u32',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= 0 && u <= 0xffffffff,
  (u, c) =>
    typeof u === 'number' && Number.isInteger(u) && u >= 0 && u <= 0xffffffff ? t.success(u) : t.failure(u, c),
  t.identity,
);

/** Bytes written as hex text, two digits a byte (may be empty). */
export const HexBytes = new t.Type<string, string, unknown>(
  'hex bytes',
  (u): u is string => typeof u === 'string' && /^([0-9a-fA-F]{2})*$/.test(u),
  (u, c) => (typeof u === 'string' && /^([0-9a-fA-F]{2})*$/.test(u) ? t.success(u.toLowerCase()) : t.failure(u, c)),
  t.identity,
);

export const CaseRegs = t.strict({
  eax: U32, ecx: U32, edx: U32, ebx: U32, esp: U32, ebp: U32, esi: U32, edi: U32, eip: U32, eflags: U32,
});
export type CaseRegs = t.TypeOf<typeof CaseRegs>;
export const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'eip', 'eflags'] as const;

export const MemRegion = t.strict({ addr: U32, hex: HexBytes });
export type MemRegion = t.TypeOf<typeof MemRegion>;

export const CaseState = t.strict({ regs: CaseRegs, mem: t.array(MemRegion) });
export type CaseState = t.TypeOf<typeof CaseState>;

export const CaseFault = t.strict({ vector: U32, errorCode: t.union([U32, t.null]), cr2: t.union([U32, t.null]) });
export type CaseFault = t.TypeOf<typeof CaseFault>;

/** The general registers, in encoding order (EAX = 0 … EDI = 7). */
export const GENERAL_REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
export type GeneralRegName = (typeof GENERAL_REG_NAMES)[number];
const GeneralRegName = t.keyof(Object.fromEntries(GENERAL_REG_NAMES.map((r) => [r, null])) as Record<GeneralRegName, null>, 'a general register name');

export const CpuCase = t.exact(t.intersection([
  t.type({
    name: t.string,
    code: HexBytes,
    codeAddr: U32,
    init: CaseState,
    final: CaseState,
    fault: t.union([CaseFault, t.null]),
    undefinedFlags: U32,
  }),
  // Our extension of the shared format (README, spec/diff.md DIFF.CASE.2):
  // general registers whose final value the architecture leaves undefined;
  // a checker leaves them out of the comparison. Absent means none.
  t.partial({ undefinedRegisters: t.array(GeneralRegName) }),
]));
export type CpuCase = t.TypeOf<typeof CpuCase>;

/** A short name for what a codec expects. */
function expectation(type: t.Decoder<unknown, unknown> & { name: string }): string {
  if (type instanceof t.InterfaceType || type instanceof t.ExactType) return 'an object';
  if (type instanceof t.ArrayType) return 'an array';
  if (type instanceof t.NullType) return 'null';
  if (type === U32) return 'an unsigned 32-bit integer';
  if (type === HexBytes) return 'hex bytes (two hex digits a byte)';
  return type.name;
}

/** Describe io-ts errors as `field <path>: <what is wrong>`, one line per
 * field (a union's branches are merged into "x or y"). */
function describeErrors(errors: t.Errors): string[] {
  const byField = new Map<string, { expected: Set<string>; value: unknown }>();
  for (const error of errors) {
    const path: string[] = [];
    error.context.forEach((entry, i) => {
      if (entry.key === '') return;
      // io-ts adds the branch index under a union: not part of the field path.
      const parent = error.context[i - 1]?.type;
      if (parent instanceof t.UnionType) return;
      // Likewise the member index of an intersection (the case object is one).
      if (parent instanceof t.IntersectionType || (parent instanceof t.ExactType && parent.type instanceof t.IntersectionType)) return;
      path.push(entry.key);
    });
    const field = path.join('.');
    const last = error.context[error.context.length - 1]!.type as t.Decoder<unknown, unknown> & { name: string };
    const entry = byField.get(field) ?? { expected: new Set<string>(), value: error.value };
    entry.expected.add(expectation(last));
    byField.set(field, entry);
  }
  return [...byField].map(([field, { expected, value }]) => {
    const got = value === undefined ? 'it is missing' : `got ${JSON.stringify(value)}`;
    return `field ${field}: expected ${[...expected].join(' or ')}, ${got}`;
  });
}

/** Checks the format cannot state in types: EIP starts at codeAddr, and
 * final.mem lists the same regions as init.mem. */
function semanticProblems(c: CpuCase): string[] {
  const problems: string[] = [];
  if (c.init.regs.eip !== c.codeAddr) problems.push(`field init.regs.eip: must equal codeAddr (${c.codeAddr}), got ${c.init.regs.eip}`);
  if (c.code.length === 0) problems.push('field code: must hold at least one byte');
  if (c.final.mem.length !== c.init.mem.length) {
    problems.push(`field final.mem: must list the ${c.init.mem.length} regions of init.mem, got ${c.final.mem.length}`);
  } else {
    c.final.mem.forEach((region, i) => {
      const before = c.init.mem[i]!;
      if (region.addr !== before.addr || region.hex.length !== before.hex.length) {
        problems.push(`field final.mem.${i}: must cover the same bytes as init.mem.${i}`);
      }
    });
  }
  return problems;
}

export type CaseFileResult =
  | { readonly kind: 'ok'; readonly cases: readonly CpuCase[] }
  | { readonly kind: 'invalid'; readonly errors: readonly string[] };

/** Decode the text of a case file; blank lines are ignored. */
export function parseCaseFile(text: string, fileName: string): CaseFileResult {
  const cases: CpuCase[] = [];
  const errors: string[] = [];
  text.split('\n').forEach((line, i) => {
    const where = `${fileName}:${i + 1}`;
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      errors.push(`${where}: malformed JSON: ${(e as Error).message}`);
      return;
    }
    const decoded = CpuCase.decode(json);
    if (isLeft(decoded)) {
      const messages = describeErrors(decoded.left);
      errors.push(...messages.map((m) => `${where}: ${m}`));
      return;
    }
    const problems = semanticProblems(decoded.right);
    if (problems.length > 0) {
      errors.push(...problems.map((m) => `${where}: ${m}`));
      return;
    }
    cases.push(decoded.right);
  });
  return errors.length > 0 ? { kind: 'invalid', errors } : { kind: 'ok', cases };
}

/** One case as its line in a case file (keys in the format's order). */
export function encodeCase(c: CpuCase): string {
  return JSON.stringify(CpuCase.encode(c));
}

export function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
