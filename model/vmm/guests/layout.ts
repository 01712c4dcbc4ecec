// Where several guests live in machine memory. Guest i owns a slot of
// 20 MiB: its partition (16 MiB) and, just above it, its own 4 MiB of
// monitor frames (real GDT, IDT, TSS, shadow directory and pool). Guest 0's
// partition starts at machine 0, so it may run in direct mode (MEM.DIRECT.1).
import { MONITOR_FRAMES, PAGE, type VmmConfig } from '../config';

export const PARTITION_SIZE = 0x01000000;
export const GUEST_SLOT = PARTITION_SIZE + MONITOR_FRAMES * PAGE;

/** [MEM.GUESTS.1] The configuration of guest `index`: partitions and monitor frames never overlap. */
export function guestLayout(index: number, vmmBase = 0xfc000000): VmmConfig {
  const base = index * GUEST_SLOT;
  return { vmmBase, partitionBase: base, partitionSize: PARTITION_SIZE, monitorBase: base + PARTITION_SIZE };
}

/** Bytes of machine memory for `count` guests. */
export const machineSizeFor = (count: number): number => count * GUEST_SLOT;
