// Disassemble a run of bytes into lines (address, bytes, NASM text). Bytes
// that do not decode to a modelled instruction become `db 0x..` lines, one
// byte each, so the text still assembles back to the same bytes.

import { decode } from './decoder';
import { disassemble } from './disassembler';
import { encode } from './encoder';

export interface ListingLine {
  readonly address: number;
  readonly bytes: Uint8Array;
  readonly text: string;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, k) => x === b[k]);

/**
 * Lines for `bytes`, the first at address `origin`. An instruction whose
 * bytes are not the ones nasm would write for it (a redundant prefix, a long
 * immediate form) is also written as `db` lines, so the listing always
 * reassembles to exactly the input.
 */
export function listing(bytes: Uint8Array, origin: number): ListingLine[] {
  const lines: ListingLine[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const address = (origin + offset) >>> 0;
    const r = decode(bytes, offset);
    if (r.kind === 'ok') {
      const own = bytes.subarray(offset, offset + r.length);
      // nasm cannot write a 16-bit relative branch in 32-bit code for every
      // mnemonic (`o16 jz near` keeps a 32-bit displacement), so those are db too.
      // [ENC.TEXT.1] Only bytes that are nasm's own encoding of what they decode to are written as an instruction.
      const rel16 = r.instruction.operands.some((o) => o.kind === 'rel' && o.size === 16);
      // nasm treats WAIT as a prefix and writes it before any other, so `o16 wait` comes out as 9B 66.
      const prefixedWait = r.instruction.mnemonic === 'wait' && own[0] !== 0x9b;
      if (!rel16 && !prefixedWait && same(encode(r.instruction), own)) {
        lines.push({ address, bytes: own, text: disassemble(r.instruction, address) });
        offset += r.length;
        continue;
      }
    }
    const b = bytes[offset]!;
    lines.push({ address, bytes: bytes.subarray(offset, offset + 1), text: `db 0x${b.toString(16).padStart(2, '0')}` });
    offset += 1;
  }
  return lines;
}
