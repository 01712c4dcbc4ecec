// Where gandalf keeps what the properties read (gandalf/config.inc): the
// machine memory it owns outside the partition, for VMM.ISO, and the
// monitor's slots of the real GDT.
export const FIRST_GUEST_RESERVED = 504;
export const GANDALF_BOUNDS = { vmmBase: 0xfc000000, partitionBase: 0x00400000, partitionSize: 0x01000000 } as const;
/** The direct build (-DMEMORY_DIRECT): the partition at machine 0, the monitor's frames at 16 MiB. */
export const GANDALF_DIRECT_BOUNDS = { vmmBase: 0xfc000000, partitionBase: 0, partitionSize: 0x01000000 } as const;
export const DIRECT_MONITOR_BASE = 0x01000000;

/** [start, length, holds page tables] of gandalf's own memory, in the build for `mode`. */
export function gandalfOwnMemory(imageLength: number, poolTablesInUse: number, mode: 'shadow-single' | 'shadow-multi' | 'direct' = 'shadow-single'): Array<[number, number, boolean]> {
  const m = mode === 'direct' ? DIRECT_MONITOR_BASE : 0;
  return [
    ...(mode === 'shadow-multi' ? [[0x20000, 0x1a000, false] as [number, number, boolean]] : []), // shadow-multi's bookkeeping (GANDALF.MULTI.1)
    ...(mode === 'direct' ? [[m + 0x7000, 0x1000, true], [m + 0x40000, 0x80000, false]] as Array<[number, number, boolean]> : []), // direct: the guests' monitor table, the demoted bitmap
    [m + 0x0000, 0x5000, false],        // stubs, IDT, GDT, TSS, LDT (not the stack, which
                                        // the processor writes when it enters the monitor)
    [m + 0x8000, 0x1000, true],         // the shadow directory
    [m + 0x9000, 0x7000, false],        // the virtual CPU, the halt IDT, the copy buffer, the para state (-DPARA, GANDALF.PARA.1)
    [m + 0x10000, 0x10000, true],       // the page tables of the monitor's region
    [m + 0x100000, imageLength, false], // gandalf's image (code and variables)
    [m + 0x200000, 0x1000 * poolTablesInUse, true], // shadow page tables (and shadow-multi's saved directories) in use
  ];
}
