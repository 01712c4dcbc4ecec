// Decimal (BCD) adjustments. They all work on AL, and AAA/AAS/AAM/AAD on AH
// too, so each takes and returns the whole AX. Rules in spec/instructions.md
// ("Decimal arithmetic").
import { AF, CF, OF, PF, SF, STATUS_FLAGS, ZF, arith, resultFlags, type ArithResult } from './flags';

const lowByte = (ax: number): number => ax & 0xff;
const highByte = (ax: number): number => (ax >>> 8) & 0xff;
const withAl = (ax: number, al: number): number => (ax & 0xff00) | (al & 0xff);

/** A decimal adjustment that can raise #DE (AAM with an immediate of 0). */
export type AdjustResult = ({ readonly kind: 'ok' } & ArithResult) | { readonly kind: 'divide-error' };

// [INS.BCD.1] DAA adjusts AL after adding two packed-BCD bytes: if the low
// digit is above 9 or AF is set, add 6 (AF := 1, CF := old CF or the carry of
// that addition); then if the original AL was above 0x99 or the original CF
// was set, add 0x60 and set CF, else clear CF. SF/ZF/PF describe AL. OF is
// undefined; the model writes 0.
export function daa(ax: number, flagsIn: number): ArithResult {
  const oldAl = lowByte(ax);
  const oldCf = flagsIn & CF ? 1 : 0;
  let al = oldAl;
  let cf = 0;
  let af = 0;
  if ((al & 0x0f) > 9 || flagsIn & AF) {
    cf = oldCf | (al + 6 > 0xff ? 1 : 0);
    al = (al + 6) & 0xff;
    af = 1;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al + 0x60) & 0xff;
    cf = 1;
  } else {
    cf = 0;
  }
  const values = (cf ? CF : 0) | (af ? AF : 0) | resultFlags(8, al);
  return arith(withAl(ax, al), flagsIn, STATUS_FLAGS, values, OF);
}

// [INS.BCD.2] DAS adjusts AL after subtracting packed-BCD bytes: if the low
// digit is above 9 or AF is set, subtract 6 (AF := 1, CF := old CF or the
// borrow of that subtraction); then if the original AL was above 0x99 or the
// original CF was set, subtract 0x60 and set CF. SF/ZF/PF describe AL. OF is
// undefined; the model writes 0.
export function das(ax: number, flagsIn: number): ArithResult {
  const oldAl = lowByte(ax);
  const oldCf = flagsIn & CF ? 1 : 0;
  let al = oldAl;
  let cf = 0;
  let af = 0;
  if ((al & 0x0f) > 9 || flagsIn & AF) {
    cf = oldCf | (al < 6 ? 1 : 0);
    al = (al - 6) & 0xff;
    af = 1;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al - 0x60) & 0xff;
    cf = 1;
  }
  const values = (cf ? CF : 0) | (af ? AF : 0) | resultFlags(8, al);
  return arith(withAl(ax, al), flagsIn, STATUS_FLAGS, values, OF);
}

// [INS.BCD.3] AAA: if AL's low digit is above 9 or AF is set, AX := AX +
// 0x106 and AF := CF := 1, else AF := CF := 0; then AL keeps only its low
// digit. AAS: if the same test holds, AX := AX − 6 and AH := AH − 1 with AF :=
// CF := 1, else AF := CF := 0; then AL keeps its low digit. OF, SF, ZF and PF
// are undefined; the model writes SF/ZF/PF of the final AL and OF = 0.
function asciiAdjust(subtract: boolean, ax: number, flagsIn: number): ArithResult {
  const adjust = (lowByte(ax) & 0x0f) > 9 || (flagsIn & AF) !== 0;
  let value = ax & 0xffff;
  if (adjust) {
    value = subtract
      ? (((value - 6) & 0xffff) - 0x100) & 0xffff
      : (value + 0x106) & 0xffff;
  }
  value = (value & 0xff00) | (value & 0x0f);
  const values = (adjust ? AF | CF : 0) | resultFlags(8, value);
  return arith(value, flagsIn, STATUS_FLAGS, values, OF | SF | ZF | PF);
}

export const aaa = (ax: number, flagsIn: number): ArithResult => asciiAdjust(false, ax, flagsIn);
export const aas = (ax: number, flagsIn: number): ArithResult => asciiAdjust(true, ax, flagsIn);

// [INS.BCD.4] AAM imm8: AH := AL / imm8, AL := AL mod imm8; an immediate of 0
// raises #DE. AAD imm8: AL := (AL + AH × imm8) mod 256, AH := 0. Both set
// SF/ZF/PF from AL; OF, AF and CF are undefined (the model writes 0).
export function aam(ax: number, imm: number, flagsIn: number): AdjustResult {
  const base = imm & 0xff;
  if (base === 0) return { kind: 'divide-error' };
  const al = lowByte(ax);
  const result = (Math.floor(al / base) << 8) | al % base;
  return { kind: 'ok', ...arith(result, flagsIn, STATUS_FLAGS, resultFlags(8, result), OF | AF | CF) };
}

export function aad(ax: number, imm: number, flagsIn: number): ArithResult {
  const al = (lowByte(ax) + highByte(ax) * (imm & 0xff)) & 0xff;
  return arith(al, flagsIn, STATUS_FLAGS, resultFlags(8, al), OF | AF | CF);
}
