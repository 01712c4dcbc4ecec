// The cost model of `mesovirt bench guests`: what a run would cost on a real
// IA-32 processor, estimated from what the model counted. Only the trap
// figure is taken from a publication; the others are our assumptions, and
// say so. The monitor is TypeScript, so the work it does on an exit is
// charged by a fixed proxy per kind of exit (an instruction count we chose,
// not one we measured), listed here in one table.

export interface CostFigure {
  readonly cycles: number;
  readonly source: string;
}

/** Cycles per event. */
export const COST = {
  /** One retired guest instruction (CPI 1). */
  instruction: { cycles: 1, source: 'assumption: one cycle per instruction (CPI 1), the usual first-order figure for a scalar in-order IA-32 core' },
  /** An event that enters a more privileged ring (INT, exception, interrupt through a gate) and its IRET back. */
  trap: {
    cycles: 48 + 27,
    source: 'Pentium: INT n 48 cycles, IRET 27 cycles, as quoted from Intel\'s Pentium manual by D. Mazieres, NetBSD port-i386 list, 6 Jan 1996 (https://mail-index.netbsd.org/port-i386/1996/01/06/0009.html); the i486 figure for INT to a more privileged level is 71 cycles (Intel486 Programmer\'s Reference Manual, INT clocks)',
  },
  /** Refilling the TLB after a flush (a MOV CR3 or a monitor flush). */
  tlbFlush: { cycles: 8 * 30, source: 'assumption: about 8 pages touched again per flush, each a two-level page walk of about 30 cycles (two dependent cached memory reads); we found no published figure to cite' },
} as const satisfies Record<string, CostFigure>;

/**
 * Instructions the monitor executes to handle one exit, by kind of exit (the
 * key is the start of the exit reason the monitor counts). A proxy: the
 * work a handler written in assembly would do, estimated from what our
 * TypeScript handler does (read the frame, decode, walk two levels of guest
 * tables, copy a frame onto the guest stack, write the frame back).
 */
export const MONITOR_WORK: ReadonlyArray<readonly [prefix: string, instructions: number, what: string]> = [
  ['emulate', 150, 'read the frame, fetch and decode the instruction through the guest tables, emulate, write the frame'],
  ['reflect', 100, 'read the guest IDT entry, check the gate and target, push the frame on the guest stack'],
  ['INT', 100, 'as reflect, for an INT n the real IDT sends to the monitor'],
  ['interrupt', 100, 'as reflect, for a hardware interrupt (held: 30)'],
  ['page fault', 200, 'walk the guest tables (two levels), install a shadow entry or reflect'],
  ['hypercall', 60, 'dispatch on EAX and check the arguments (mmu_update adds 40 per request)'],
  ['refused hypercall', 100, 'as reflect'],
];

export const HELD_INTERRUPT_WORK = 30;
export const MMU_REQUEST_WORK = 40;

export function monitorWork(reason: string): number {
  if (reason.startsWith('interrupt') && reason.endsWith('held')) return HELD_INTERRUPT_WORK;
  const row = MONITOR_WORK.find(([prefix]) => reason.startsWith(prefix));
  return row === undefined ? 100 : row[1];
}

export interface Counts {
  readonly guestInstructions: number;
  /** Events the processor delivered to the guest kernel itself (no monitor). */
  readonly directEvents: number;
  readonly exits: Readonly<Record<string, number>>;
  readonly mmuRequests: number;
  readonly tlbFlushes: number;
}

export interface Cost {
  readonly monitorInstructions: number;
  readonly cycles: number;
}

/** cycles = instructions + traps (direct events and exits) + monitor work + TLB refills. */
export function costOf(c: Counts): Cost {
  const exits = Object.values(c.exits).reduce((a, b) => a + b, 0);
  const monitorInstructions = Object.entries(c.exits).reduce((n, [reason, k]) => n + k * monitorWork(reason), 0) + c.mmuRequests * MMU_REQUEST_WORK;
  const cycles = c.guestInstructions * COST.instruction.cycles + (c.directEvents + exits) * COST.trap.cycles
    + monitorInstructions * COST.instruction.cycles + c.tlbFlushes * COST.tlbFlush.cycles;
  return { monitorInstructions, cycles };
}
