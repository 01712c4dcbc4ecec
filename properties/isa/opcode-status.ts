// The status of every opcode of the one-byte and 0F maps, worked out from
// the decoder itself: which mnemonics it gives, which ModRM forms are #UD,
// and what is outside the model with the reason. spec/encoding.md carries
// this table (ENC.MAP.1); test/isa/opcode-status.test.ts keeps the two equal.
import { decode } from '../../model/isa/decoder';
import { ESCAPED_UNDEFINED } from '../../model/isa/opcodes';

const PREFIX_NAMES: Record<number, string> = {
  0x26: 'ES override', 0x2e: 'CS override', 0x36: 'SS override', 0x3e: 'DS override', 0x64: 'FS override',
  0x65: 'GS override', 0x66: 'operand-size prefix', 0x67: 'address-size prefix (ENC.PREFIX.3)', 0xf0: 'LOCK (ENC.PREFIX.5)',
  0xf2: 'REPNE (ENC.PREFIX.6)', 0xf3: 'REP/REPE (ENC.PREFIX.6)', 0x0f: 'escape to the 0F map',
};

const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

/** One row: the opcode and its status text. */
function status(escaped: boolean, opcode: number): string {
  if (!escaped && PREFIX_NAMES[opcode] !== undefined) return `prefix: ${PREFIX_NAMES[opcode]}`;
  const mnemonics = new Set<string>();
  const undefinedForms: string[] = [];
  const unsupported = new Set<string>();
  const look = (modrm: number): 'ok' | 'undefined' | 'other' => {
    const r = decode([...(escaped ? [0x0f] : []), opcode, modrm, 0, 0, 0, 0, 0, 0, 0, 0]);
    if (r.kind === 'ok') mnemonics.add(r.instruction.mnemonic);
    else if (r.kind === 'unsupported') unsupported.add(r.reason);
    return r.kind === 'ok' || r.kind === 'undefined' ? r.kind : 'other';
  };
  for (let reg = 0; reg < 8; reg++) {
    if (look((reg << 3) | 1) === 'undefined') undefinedForms.push(`/${reg}m`);
    // Every register form (the x87 escapes choose some by the whole ModRM byte).
    const bad = [0, 1, 2, 3, 4, 5, 6, 7].map((rm) => 0xc0 | (reg << 3) | rm).filter((modrm) => look(modrm) === 'undefined');
    if (bad.length === 8) undefinedForms.push(`/${reg}r`);
    else if (bad.length > 0) undefinedForms.push(`/${reg}r:${bad.map(hex2).join(' ')}`);
  }
  if (mnemonics.size === 0 && unsupported.size === 0) {
    return `#UD: ${(escaped ? ESCAPED_UNDEFINED.get(opcode) : undefined) ?? 'undefined'}`;
  }
  const parts: string[] = [];
  if (mnemonics.size > 0) parts.push(`modelled: ${[...mnemonics].join(', ')}`);
  if (undefinedForms.length > 0) parts.push(`#UD: ${compact(undefinedForms)}`);
  if (unsupported.size > 0) parts.push(`unsupported: ${[...unsupported].join('; ')}`);
  return parts.join('; ');
}

/** `/0m /0r /1m /1r` -> `/0 /1`; a form on its own keeps its letter (m: memory, r: register). */
function compact(forms: string[]): string {
  const out: string[] = [];
  for (let reg = 0; reg < 8; reg++) {
    const m = forms.includes(`/${reg}m`), r = forms.includes(`/${reg}r`);
    const some = forms.find((f) => f.startsWith(`/${reg}r:`));
    if (m && r) out.push(`/${reg}`);
    else if (m) out.push(`/${reg} mem`);
    else if (r) out.push(`/${reg} reg`);
    if (some !== undefined) out.push(`ModRM ${some.slice(4)}`);
  }
  return out.join(' ');
}

/** The Markdown table of both maps. */
export function opcodeStatusTable(): string {
  const rows = ['| opcode | status |', '|---|---|'];
  for (let op = 0; op < 256; op++) rows.push(`| ${hex2(op)} | ${status(false, op)} |`);
  for (let op = 0; op < 256; op++) rows.push(`| 0F ${hex2(op)} | ${status(true, op)} |`);
  return rows.join('\n');
}
