// Where the monitor lives and what it gives the guest: the configuration of
// one Gandalf-style monitor and the layout of its reserved machine frames.
//
// Machine memory is split in two: the monitor's own frames at
// [monitorBase, monitorBase + MONITOR_FRAMES * 4 KiB) and the guest's
// partition at [partitionBase, partitionBase + partitionSize). The monitor's
// frames are mapped, supervisor-only, at the VMM base of every address space
// the guest runs in; the guest never sees its own partition's machine
// addresses (guest-physical p is machine partitionBase + p).

export interface VmmConfig {
  /** First linear address of the VMM region; every guest segment ends below it. */
  readonly vmmBase: number;
  /** Machine address of the monitor's reserved frames. */
  readonly monitorBase: number;
  /** Machine address where guest-physical 0 lives. */
  readonly partitionBase: number;
  /** Bytes of guest-physical memory. */
  readonly partitionSize: number;
}

export const PAGE = 4096;

/** Frames reserved for the monitor (4 MiB: one page table maps them all). */
export const MONITOR_FRAMES = 1024;

/**
 * [VMM.LAYOUT.1] Defaults: the VMM base 0xFC000000 (the top 64 MiB, the
 * same hole Xen leaves on x86-32); the monitor's frames are the first 4 MiB
 * of machine memory and the guest partition the 16 MiB above them. The base
 * is configurable (any multiple of 4 MiB above the partition's size).
 */
export const DEFAULT_CONFIG: VmmConfig = {
  vmmBase: 0xfc000000,
  monitorBase: 0,
  partitionBase: 0x00400000,
  partitionSize: 0x01000000,
};

/** Bytes of machine memory a run of this configuration needs. */
export function machineMemorySize(config: VmmConfig): number {
  return Math.max(config.partitionBase + config.partitionSize, config.monitorBase + MONITOR_FRAMES * PAGE);
}

/** A configuration the monitor can run with, or the reason it cannot. */
export function validateConfig(config: VmmConfig): string | null {
  const fourMiB = 0x400000;
  if (config.vmmBase % fourMiB !== 0) return `VMM base ${hex(config.vmmBase)} is not a multiple of 4 MiB`;
  if (config.vmmBase > 0xffc00000 || config.vmmBase < config.partitionSize) return `VMM base ${hex(config.vmmBase)} leaves no room`;
  if (config.partitionBase % PAGE !== 0 || config.partitionSize % PAGE !== 0) return 'the partition must be page-aligned';
  const monitorEnd = config.monitorBase + MONITOR_FRAMES * PAGE;
  const overlap = config.monitorBase < config.partitionBase + config.partitionSize && config.partitionBase < monitorEnd;
  if (overlap) return 'the partition overlaps the monitor frames';
  return null;
}

export const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

// ---------------------------------------------------------------- frames

/** Page numbers inside the monitor's frames. */
export const Frame = {
  /** Entry stubs: vector v enters at offset 16 * v. Each stub is an IRET. */
  code: 0,
  idt: 1,
  gdt: 2,
  tss: 3,
  ldt: 4,
  /** Two pages of monitor stack; ESP0 is the top of the second. */
  stack: 5,
  /** The page table that maps the monitor frames at the VMM base. */
  monitorTable: 7,
  shadowDirectory: 8,
  /** First frame of the pool of shadow page tables (to the end). */
  shadowPool: 9,
} as const;

export const STUB_SIZE = 16;
export const STACK_PAGES = 2;

/** Machine address of a monitor frame. */
export const frameMachine = (config: VmmConfig, frame: number): number => config.monitorBase + frame * PAGE;
/** Linear address (in the VMM region) of a monitor frame. */
export const frameLinear = (config: VmmConfig, frame: number): number => (config.vmmBase + frame * PAGE) >>> 0;

// ---------------------------------------------------------------- GDT slots

/** Entries in the real GDT (one page) and the real LDT (one page). */
export const TABLE_ENTRIES = 512;

/**
 * [VMM.LAYOUT.2] The real GDT's last eight entries belong to the monitor;
 * the guest's own GDT may use indices 1..503 only (an entry beyond is
 * refused). The monitor's code and data segments are flat and DPL 0; the
 * boot segments the guest starts on are DPL 1 and end below the VMM base.
 */
export const Slot = {
  firstReserved: 504,
  monitorCode: 504,
  monitorData: 505,
  tss: 506,
  ldt: 507,
  bootCode: 508,
  bootData: 509,
} as const;

export const selectorOf = (slot: number, rpl: number): number => (slot << 3) | rpl;

/** The guest's boot selectors (ring 1). */
export const BOOT_CODE_SELECTOR = selectorOf(Slot.bootCode, 1);
export const BOOT_DATA_SELECTOR = selectorOf(Slot.bootData, 1);
export const MONITOR_CODE_SELECTOR = selectorOf(Slot.monitorCode, 0);
export const MONITOR_DATA_SELECTOR = selectorOf(Slot.monitorData, 0);
export const TSS_SELECTOR = selectorOf(Slot.tss, 0);
export const LDT_SELECTOR = selectorOf(Slot.ldt, 0);

/** Linear address of the entry stub of `vector`. */
export const stubLinear = (config: VmmConfig, vector: number): number => (frameLinear(config, Frame.code) + STUB_SIZE * vector) >>> 0;
/** The monitor's stack top (ESP0 of the real TSS). */
export const monitorStackTop = (config: VmmConfig): number => (frameLinear(config, Frame.stack) + STACK_PAGES * PAGE) >>> 0;

/** Is this machine address one of the guest's partition? */
export const inPartition = (config: VmmConfig, machine: number, bytes = 1): boolean =>
  machine >= config.partitionBase && machine + bytes <= config.partitionBase + config.partitionSize;
/** Is this machine address one of the monitor's frames? */
export const inMonitorFrames = (config: VmmConfig, machine: number): boolean =>
  machine >= config.monitorBase && machine < config.monitorBase + MONITOR_FRAMES * PAGE;
