// Starting a guest: the monitor builds its real tables in its own frames,
// loads the guest's Multiboot image into the partition, and enters the
// guest at ring 1 as a Multiboot loader would have entered it at ring 0.
import { emptyMemory, writeBytes, writePhysical } from '../cpu/memory';
import { initialState, type MachineState } from '../cpu/state';
import { CR0_ET, CR0_PE, CR0_PG, CR0_WP } from '../cpu/paging';
import { loadMultiboot } from '../boot/multiboot';
import {
  BOOT_CODE_SELECTOR, BOOT_DATA_SELECTOR, Frame, frameLinear, frameMachine, machineMemorySize, monitorStackTop,
  MONITOR_DATA_SELECTOR, PAGE, Slot, STUB_SIZE, TSS_SELECTOR, validateConfig, DEFAULT_CONFIG, type VmmConfig,
} from './config';
import { segmentCache, segmentDescriptor, systemDescriptor, type RawDescriptor } from './descriptors';
import { buildMonitorMappings, emptyShadow } from './shadow';
import { monitorGate, REAL_GDT_LIMIT, REAL_IDT_LIMIT, setRealRingStack } from './tables';
import { defaultRules, type VmmRules } from './rules';
import type { World } from './state';

const IRET = 0xcf;

/** The monitor's own GDT slots (see VMM.LAYOUT.2). */
function reservedDescriptors(config: VmmConfig): Array<[number, RawDescriptor]> {
  const guestLimit = (config.vmmBase >>> 12) - 1; // page-granular: ends at vmmBase - 1
  return [
    [Slot.monitorCode, segmentDescriptor({ base: 0, limitField: 0xfffff, type: 0xb, dpl: 0 })],
    [Slot.monitorData, segmentDescriptor({ base: 0, limitField: 0xfffff, type: 0x3, dpl: 0 })],
    [Slot.tss, systemDescriptor({ base: frameLinear(config, Frame.tss), limit: 0x67, type: 0xb })],
    [Slot.bootCode, segmentDescriptor({ base: 0, limitField: guestLimit, type: 0xb, dpl: 1 })],
    [Slot.bootData, segmentDescriptor({ base: 0, limitField: guestLimit, type: 0x3, dpl: 1 })],
  ];
}

/**
 * [VMM.BOOT.1] The monitor's frames at boot: every entry stub is a single
 * IRET; the real IDT sends every vector to its stub (interrupt gates, DPL 0,
 * so INT n from the guest faults into the monitor until the guest's LIDT
 * installs direct gates); the real GDT holds only the monitor's slots; the
 * real TSS gives ring 0 the monitor stack and has no I/O bitmap (every port
 * traps); the shadow maps nothing below the VMM base.
 */
export function monitorMemory(config: VmmConfig, memorySize: number): MachineState['memory'] {
  let m = buildMonitorMappings(emptyMemory(memorySize), config);
  const stubs = new Uint8Array(PAGE);
  for (let v = 0; v < 256; v++) stubs[v * STUB_SIZE] = IRET;
  m = writeBytes(m, frameMachine(config, Frame.code), stubs);
  for (let v = 0; v < 256; v++) {
    const g = monitorGate(config, v);
    m = writePhysical(writePhysical(m, frameMachine(config, Frame.idt) + 8 * v, 4, g.low), frameMachine(config, Frame.idt) + 8 * v + 4, 4, g.high);
  }
  for (const [slot, d] of reservedDescriptors(config)) {
    const at = frameMachine(config, Frame.gdt) + 8 * slot;
    m = writePhysical(writePhysical(m, at, 4, d.low), at + 4, 4, (d.high | (d.high & 0x1000 ? 0x100 : 0)) >>> 0);
  }
  m = setRealRingStack(m, config, 0, MONITOR_DATA_SELECTOR, monitorStackTop(config));
  m = writePhysical(m, frameMachine(config, Frame.tss) + 0x66, 2, 0x68); // I/O map base beyond the limit: no bitmap
  return m;
}

export type Boot = { readonly kind: 'ok'; readonly world: World } | { readonly kind: 'error'; readonly message: string };

/**
 * [VMM.BOOT.2] The guest starts at ring 1 on the boot segments (flat,
 * DPL 1, ending below the VMM base), with the Multiboot registers (EAX =
 * 0x2BADB002, EBX = the information structure), interrupts off, IOPL 0,
 * its paging off (the virtual CR0 is PE|ET) and the real paging on through
 * the empty shadow.
 */
export function bootGuest(image: Uint8Array, config: VmmConfig = DEFAULT_CONFIG, rules: VmmRules = defaultRules): Boot {
  const bad = validateConfig(config);
  if (bad !== null) return { kind: 'error', message: bad };
  const loaded = loadMultiboot(image, config.partitionSize);
  if (loaded.kind === 'error') return loaded;
  let memory = monitorMemory(config, machineMemorySize(config));
  for (const w of loaded.writes) memory = writeBytes(memory, config.partitionBase + w.address, w.bytes);
  const entry = loaded.entry;
  const gdt = reservedDescriptors(config);
  const code = segmentCache(BOOT_CODE_SELECTOR, gdt.find(([s]) => s === Slot.bootCode)![1]);
  const data = segmentCache(BOOT_DATA_SELECTOR, gdt.find(([s]) => s === Slot.bootData)![1]);
  const base = initialState(machineMemorySize(config));
  const machine: MachineState = {
    ...base,
    memory,
    regs: [entry.regs.eax, entry.regs.ecx, entry.regs.edx, entry.regs.ebx, entry.regs.esp, entry.regs.ebp, entry.regs.esi, entry.regs.edi],
    eip: entry.eip,
    eflags: 0x2,
    segments: { cs: code, ss: data, ds: data, es: data, fs: data, gs: data },
    // [SENS.SMSW.1] The real CR0 is the monitor's: SMSW at ring 1 reads its
    // low bits (PE, ET and TS as the monitor keeps them), never the guest's
    // virtual CR0, which only a trapping MOV from CR0 returns.
    cr0: (CR0_PE | CR0_ET | CR0_WP | CR0_PG) >>> 0,
    cr3: frameMachine(config, Frame.shadowDirectory),
    // [SENS.RDTSC.1] CR4.TSD starts clear (as the guest's): RDTSC at ring 1
    // and 3 reads the machine's counter without an exit.
    cr4: 0,
    // [VMM.MSR.2] The real MSRs start (and stay) at their reset values: a
    // null SYSENTER_CS, so a guest's SYSENTER faults into the monitor
    // instead of entering ring 0; the guest's WRMSRs go to virtual copies.
    // [SENS.SGDT.1] The real GDTR names the monitor's GDT in the VMM region;
    // SGDT does not trap at ring 1, so the guest sees this (a divergence).
    gdtr: { base: frameLinear(config, Frame.gdt), limit: REAL_GDT_LIMIT },
    // [SENS.SIDT.1] Likewise the real IDTR, which SIDT shows the guest.
    idtr: { base: frameLinear(config, Frame.idt), limit: REAL_IDT_LIMIT },
    // [SENS.STR.1] The real TR holds the monitor's TSS selector for good;
    // STR shows it, whatever the guest's LTR named.
    tr: { selector: TSS_SELECTOR, base: frameLinear(config, Frame.tss), limit: 0x67, attributes: 0x8b, valid: true },
  };
  return {
    kind: 'ok',
    world: {
      machine,
      vmm: {
        config, rules,
        vcpu: { cr0: CR0_PE | CR0_ET, cr2: 0, cr3: 0, cr4: 0, gdtr: { base: 0, limit: 0 }, idtr: { base: 0, limit: 0 }, ldtr: 0, tr: 0 },
        shadow: emptyShadow,
        stopped: null,
        afterReturn: { halt: false, interruptShadow: false },
        exits: {},
        refusals: [],
      },
    },
  };
}
