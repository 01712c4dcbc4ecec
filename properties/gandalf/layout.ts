// Where gandalf keeps what the properties read (gandalf/config.inc): the
// machine memory it owns outside the partition, for VMM.ISO, and the
// monitor's slots of the real GDT.
export const FIRST_GUEST_RESERVED = 504;
export const GANDALF_BOUNDS = { vmmBase: 0xfc000000, partitionBase: 0x00400000, partitionSize: 0x01000000 } as const;

/** [start, length, holds page tables] of gandalf's own memory. */
export function gandalfOwnMemory(imageLength: number, poolTablesInUse: number, multi = false): Array<[number, number, boolean]> {
  return [
    ...(multi ? [[0x20000, 0x1a000, false] as [number, number, boolean]] : []), // shadow-multi's bookkeeping (GANDALF.MULTI.1)
    [0x0000, 0x5000, false],            // stubs, IDT, GDT, TSS, LDT (not the stack, which
                                        // the processor writes when it enters the monitor)
    [0x8000, 0x1000, true],             // the shadow directory
    [0x9000, 0x3000, false],            // the virtual CPU, the halt IDT, the copy buffer
    [0x10000, 0x10000, true],           // the page tables of the monitor's region
    [0x100000, imageLength, false],     // gandalf's image (code and variables)
    [0x200000, 0x1000 * poolTablesInUse, true], // shadow page tables (and shadow-multi's saved directories) in use
  ];
}
