// Architectural events inside impl are thrown as CpuFault objects (not
// Error subclasses: no stack trace is captured, so throwing stays cheap).
// The step loop catches them and delivers the exception through the IDT.
// This is impl's choice for speed; the pure model returns tagged unions.

export const DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7;
export const DF = 8, TS = 10, NP = 11, SS = 12, GP = 13, PF = 14;

export class CpuFault {
  constructor(
    readonly vector: number,
    /** Error code pushed by delivery, or null for exceptions without one. */
    readonly errorCode: number | null,
    /** For #PF: the linear address, written to CR2 when the fault is delivered. */
    readonly address = 0,
  ) {}
}

/** Raised for valid IA-32 that this machine does not implement (not #UD). */
export class Unsupported {
  constructor(readonly message: string) {}
}

export function fault(vector: number, errorCode: number | null = null): never {
  throw new CpuFault(vector, errorCode);
}
export const gp = (code = 0): never => fault(GP, code);
export const ud = (): never => fault(UD, null);

/** Contributory exceptions for the double-fault rule (SDM vol. 3, table 6-5). */
export function isContributory(vector: number): boolean {
  return vector === DE || vector === TS || vector === NP || vector === SS || vector === GP;
}

/** Exceptions that push an error code. */
export function hasErrorCode(vector: number): boolean {
  return vector === DF || vector === TS || vector === NP || vector === SS || vector === GP ||
    vector === PF || vector === 17;
}
