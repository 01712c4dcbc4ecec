// Instruction lines: evaluate the operand expressions, hand the operands to
// the map's text-level helper (model/isa/mnemonics.ts), and encode. Two nasm
// habits are reproduced here because they depend on where values come from:
//  - an address (a label, `$`) is relocatable to nasm, so it always gets a
//    full 32-bit immediate or displacement, even when its value would fit in
//    a byte (`push label` is 68 imm32, never 6A imm8);
//  - a branch to a label in the same section is short when it reaches
//    (the layout's passes decide, see layout.ts); to an absolute address or
//    another section it is near.
import type { SegmentName } from '../ast';
import { type AsmOperand, type AsmPrefixes, buildInstruction, parseMnemonic } from '../mnemonics';
import { encodeResult } from '../encoder';
import { COUNTER_BRANCH_MNEMONICS } from '../opcodes';
import type { EvalEnv, Expr, Value } from './expression';
import { evaluate } from './expression';
import type { OperandSyntax } from './operands';
import type { Prefix, Statement } from './statements';

const ALIASES: Record<string, string> = { loopz: 'loope', loopnz: 'loopne' };
const BRANCHES = new Set(['jmp', 'call', 'jcc', ...COUNTER_BRANCH_MNEMONICS]);

export const spelling = (m: string): string => ALIASES[m] ?? m;
export const isMnemonic = (m: string): boolean => parseMnemonic(spelling(m)) !== null;

export type InstructionResult =
  | { readonly kind: 'ok'; readonly bytes: Uint8Array; readonly long: boolean }
  | { readonly kind: 'error'; readonly column: number; readonly message: string };

/** Probe values that stand in for addresses so that the encoder picks the
 * 32-bit field; their bytes are then replaced by the real value. */
const IMMEDIATE_PROBE = 0x7ea5c3b1;
const DISPLACEMENT_PROBE = 0x6d93e2a7;

const asNumber = (v: bigint): number => Number(BigInt.asIntN(64, v));

/** Assembles one instruction at `address`. `long` says an earlier pass found
 * this branch out of short reach (branches only grow, so passes end). */
export function assembleInstruction(
  stmt: Extract<Statement, { kind: 'instruction' }>, env: EvalEnv, address: number, section: string, long: boolean, column: number,
): InstructionResult {
  const text = spelling(stmt.mnemonic);
  const parsed = parseMnemonic(text);
  if (parsed === null) return { kind: 'error', column, message: `unknown instruction '${stmt.mnemonic}'` };
  const branch = BRANCHES.has(parsed.mnemonic);
  const patches: { probe: number; value: number }[] = [];
  const operands: AsmOperand[] = [];
  let isLong = long;
  const value = (e: Expr): { kind: 'ok'; v: Value | null } | { kind: 'error'; column: number; message: string } => {
    const r = evaluate(e, env);
    if (r.kind === 'error') return r;
    return { kind: 'ok', v: r.kind === 'known' ? r.value : null };
  };
  for (const o of stmt.operands) {
    const converted = convert(o);
    if (converted.kind === 'error') return converted;
    operands.push(converted.operand);
  }
  function convert(o: OperandSyntax): { kind: 'ok'; operand: AsmOperand } | { kind: 'error'; column: number; message: string } {
    switch (o.kind) {
      case 'reg': return { kind: 'ok', operand: { kind: 'reg', size: o.size, reg: o.reg } };
      case 'sreg': return { kind: 'ok', operand: { kind: 'sreg', reg: o.reg } };
      case 'creg': return { kind: 'ok', operand: { kind: 'creg', reg: o.reg } };
      case 'st': return { kind: 'ok', operand: { kind: 'st', reg: o.reg } };
      case 'dreg': return { kind: 'ok', operand: { kind: 'dreg', reg: o.reg } };
      case 'mem': {
        let disp = 0;
        if (o.disp !== null) {
          const d = value(o.disp);
          if (d.kind === 'error') return d;
          disp = d.v === null ? 0 : asNumber(d.v.value);
          if (d.v?.section != null) {
            patches.push({ probe: DISPLACEMENT_PROBE, value: disp });
            disp = DISPLACEMENT_PROBE;
          }
        }
        return { kind: 'ok', operand: { kind: 'mem', size: o.size, base: o.base, index: o.index, scale: o.scale, disp, segment: o.segment as SegmentName | null, far: o.far, address16: o.address16 } };
      }
      case 'far': {
        const s = value(o.selector);
        if (s.kind === 'error') return s;
        const f = value(o.offset);
        if (f.kind === 'error') return f;
        return { kind: 'ok', operand: { kind: 'far', selector: s.v === null ? 0 : asNumber(s.v.value) & 0xffff, offset: f.v === null ? 0 : asNumber(f.v.value) >>> 0 } };
      }
      case 'imm': {
        const r = value(o.value);
        if (r.kind === 'error') return r;
        if (branch) {
          if (o.distance === 'far') return { kind: 'error', column: o.column, message: "'far' needs a memory operand or a selector:offset pair" };
          // Unknown targets are assumed near in reach (nasm is optimistic too).
          const target = r.v === null ? address : asNumber(r.v.value);
          const sameSection = r.v === null || r.v.section === section;
          const shortOnly = COUNTER_BRANCH_MNEMONICS.has(parsed!.mnemonic);
          const size = o.distance === 'short' ? 'short' : o.distance === 'near' ? 'near' : !shortOnly && (isLong || !sameSection) ? 'near' : null;
          return { kind: 'ok', operand: { kind: 'target', address: target, size } };
        }
        if (o.distance !== null) return { kind: 'error', column: o.column, message: `'${o.distance}' applies only to branch targets` };
        const v = r.v === null ? 0 : asNumber(r.v.value);
        if (r.v?.section != null) patches.push({ probe: IMMEDIATE_PROBE, value: v });
        return { kind: 'ok', operand: { kind: 'imm', value: v, size: o.size } };
      }
    }
  }
  // nasm writes `mov sreg, r16` and `lar/lsl r32, r16` without the 0x66
  // prefix: the register form of that operand has the operand size, so the
  // AST holds the 32-bit register (mov ds, ax = mov ds, eax = 8E D8).
  const widened = operands.map((o, k) =>
    o.kind === 'reg' && o.size === 16 && !stmt.prefixes.includes('o16') &&
    ((parsed.mnemonic === 'mov' && k === 1 && operands[0]!.kind === 'sreg') ||
      ((parsed.mnemonic === 'lar' || parsed.mnemonic === 'lsl') && k === 1 && operands[0]!.kind === 'reg' && operands[0]!.size === 32))
      ? { ...o, size: 32 as const } : o);
  operands.splice(0, operands.length, ...widened);
  const segment = stmt.prefixes.find((p): p is Prefix & SegmentName => ['es', 'cs', 'ss', 'ds', 'fs', 'gs'].includes(p)) ?? null;
  const rep = stmt.prefixes.find((p) => p === 'rep' || p === 'repe' || p === 'repne') ?? null;
  const farSize = stmt.operands.find((o) => o.kind === 'far')?.size; // `jmp word sel:off`
  const operandSize = stmt.prefixes.includes('o16') || farSize === 16 ? 16 : stmt.prefixes.includes('o32') || farSize === 32 ? 32 : null;
  // nasm names the counter of LOOP as a second operand (`loop label, cx`).
  const counter = COUNTER_BRANCH_MNEMONICS.has(parsed.mnemonic) && operands.length === 2 && operands[1]!.kind === 'reg' && operands[1]!.reg === 1
    ? operands.pop() as Extract<AsmOperand, { kind: 'reg' }> : null;
  const addressSize = stmt.prefixes.includes('a16') || counter?.size === 16 ? 16
    : stmt.prefixes.includes('a32') ? 32 : null;
  const prefixes: AsmPrefixes = { rep: rep as AsmPrefixes['rep'], lock: stmt.prefixes.includes('lock'), segment, operandSize, addressSize };
  let built = buildInstruction(text, operands, prefixes, address);
  if (built.kind === 'error') return { kind: 'error', column, message: explain(built.message, stmt, operands) };
  // An address as a 32-bit immediate: rebuild with the probe to get the
  // full-width form (a 16- or 8-bit immediate is left as it is).
  const immPatch = patches.find((p) => p.probe === IMMEDIATE_PROBE);
  if (immPatch !== undefined) {
    const imm = built.instruction.operands.find((x) => x.kind === 'imm');
    if (imm?.kind === 'imm' && imm.size === 32) {
      const probed = operands.map((x) => (x.kind === 'imm' ? { ...x, value: IMMEDIATE_PROBE } : x));
      const again = buildInstruction(text, probed, prefixes, address);
      if (again.kind === 'ok') built = again;
    } else {
      patches.splice(patches.indexOf(immPatch), 1);
    }
  }
  const encoded = encodeResult(built.instruction);
  if (encoded.kind === 'error') return { kind: 'error', column, message: encoded.message };
  const bytes = Uint8Array.from(encoded.bytes);
  for (const p of patches) {
    const at = findLittleEndian(bytes, p.probe);
    if (at >= 0) for (let k = 0; k < 4; k++) bytes[at + k] = (p.value >>> (8 * k)) & 0xff;
  }
  const rel = built.instruction.operands.find((x) => x.kind === 'rel');
  if (rel?.kind === 'rel' && rel.size !== 8) isLong = true;
  return { kind: 'ok', bytes, long: isLong };
}

function findLittleEndian(bytes: Uint8Array, value: number): number {
  for (let i = bytes.length - 4; i >= 0; i--) {
    if (bytes[i] === (value & 0xff) && bytes[i + 1] === ((value >>> 8) & 0xff) && bytes[i + 2] === ((value >>> 16) & 0xff) && bytes[i + 3] === (value >>> 24)) return i;
  }
  return -1;
}

/** Makes the helper's message name the mnemonic as written, and says when a short branch is out of reach. */
function explain(message: string, stmt: Extract<Statement, { kind: 'instruction' }>, operands: readonly AsmOperand[]): string {
  if (operands.some((o) => o.kind === 'target' && o.size === 'short') || COUNTER_BRANCH_MNEMONICS.has(parseMnemonic(spelling(stmt.mnemonic))?.mnemonic ?? '')) {
    if (operands.some((o) => o.kind === 'target')) return `short jump is out of range (${stmt.mnemonic} reaches only -128..127 bytes)`;
  }
  return message.replace(/^no form of '[^']*'/, `no form of '${stmt.mnemonic}'`);
}
