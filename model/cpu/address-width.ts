// The width of the addresses an instruction forms from registers on its own:
// the string instructions (SI/ESI, DI/EDI and the count CX/ECX), LOOP,
// LOOPE, LOOPNE and JCXZ/JECXZ (CX/ECX), and XLAT (BX/EBX).
import type { Instruction } from '../isa/ast';

export type AddressWidth = 16 | 32;

/**
 * [INS.ADDR16.1] With the address-size prefix 0x67 (ENC.PREFIX.3) these
 * instructions use the 16-bit registers SI, DI, CX and BX: offsets and
 * counts wrap at 2^16, and the upper halves of ESI, EDI, ECX and EBX are
 * neither read nor changed. Without it they use the 32-bit registers.
 */
export const addressWidth = (instr: Instruction): AddressWidth => (instr.addressSize === 16 ? 16 : 32);

/** A register value or an offset cut to the address width. */
export const toWidth = (value: number, width: AddressWidth): number => (width === 16 ? value & 0xffff : value >>> 0);
