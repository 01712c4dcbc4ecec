// The real descriptor tables (GDT, LDT, IDT, TSS), which live in the
// monitor's frames, and how the guest's LGDT, LLDT, LIDT and LTR fill them.
import { readPhysical, writeBytes, writePhysical, type PhysicalMemory } from '../cpu/memory';
import type { MachineState } from '../cpu/state';
import { Frame, frameLinear, frameMachine, LDT_SELECTOR, PAGE, Slot, stubLinear, TABLE_ENTRIES, MONITOR_CODE_SELECTOR, type VmmConfig } from './config';
import { checkDescriptor } from './check';
import { field, gateDescriptor, isNull, segmentCache, type RawDescriptor } from './descriptors';
import { dwordAt, readGuest, wordAt, type GuestCopy } from './guest-paging';
import { recordRefusal, type VmmState, type World } from './state';

// ---------------------------------------------------------------- reading

const entryAt = (memory: PhysicalMemory, address: number): RawDescriptor =>
  ({ low: readPhysical(memory, address, 4), high: readPhysical(memory, address + 4, 4) });

/** A selector's descriptor in the real GDT or LDT (null: null selector or beyond the table). */
export function realDescriptor(machine: MachineState, config: VmmConfig, selector: number): RawDescriptor | null {
  if ((selector & 0xfffc) === 0) return null;
  const local = (selector & 4) !== 0;
  const index = selector >>> 3;
  if (local && (!machine.ldtr.valid || index * 8 + 7 > machine.ldtr.limit)) return null;
  if (index >= TABLE_ENTRIES) return null;
  return entryAt(machine.memory, frameMachine(config, local ? Frame.ldt : Frame.gdt) + index * 8);
}

/** Ring n's stack in the real TSS: ESPn at 4 + 8n, SSn at 8 + 8n. */
export function realRingStack(machine: MachineState, config: VmmConfig, ring: number): { ss: number; esp: number } {
  const tss = frameMachine(config, Frame.tss);
  return { esp: readPhysical(machine.memory, tss + 4 + 8 * ring, 4), ss: readPhysical(machine.memory, tss + 8 + 8 * ring, 2) };
}

export function setRealRingStack(memory: PhysicalMemory, config: VmmConfig, ring: number, ss: number, esp: number): PhysicalMemory {
  const tss = frameMachine(config, Frame.tss);
  return writePhysical(writePhysical(memory, tss + 4 + 8 * ring, 4, esp >>> 0), tss + 8 + 8 * ring, 4, ss & 0xffff);
}

/** Read the guest's descriptor table (base linear, limit) into entries. */
function readGuestTable(world: World, base: number, limit: number, entries: number): GuestCopy<RawDescriptor[]> {
  const bytes = Math.min(limit + 1, entries * 8);
  const copy = readGuest(world.machine.memory, world.vmm.config, world.vmm.vcpu, base, bytes);
  if (copy.kind !== 'ok') return copy;
  const out: RawDescriptor[] = [];
  for (let i = 0; i + 8 <= bytes; i += 8) out.push({ low: dwordAt(copy.value, i), high: dwordAt(copy.value, i + 4) });
  return { kind: 'ok', value: out, memory: copy.memory };
}

/** One entry of the guest's GDT (through its virtual GDTR), or null when outside it. */
export function guestGdtEntry(world: World, selector: number): GuestCopy<RawDescriptor | null> {
  const index = selector >>> 3;
  const { gdtr } = world.vmm.vcpu;
  if ((selector & 0xfffc) === 0 || index * 8 + 7 > gdtr.limit) return { kind: 'ok', value: null, memory: world.machine.memory };
  const copy = readGuest(world.machine.memory, world.vmm.config, world.vmm.vcpu, gdtr.base + index * 8, 8);
  if (copy.kind !== 'ok') return copy;
  return { kind: 'ok', value: { low: dwordAt(copy.value, 0), high: dwordAt(copy.value, 4) }, memory: copy.memory };
}

// ---------------------------------------------------------------- copying

/** Copy checked guest entries into a real table page, keeping `keep` slots as they are. */
function installTable(world: World, table: 'gdt' | 'ldt', guest: readonly RawDescriptor[]): World {
  const { config, rules } = world.vmm;
  let vmm: VmmState = world.vmm;
  const page = frameMachine(config, table === 'gdt' ? Frame.gdt : Frame.ldt);
  const limit = table === 'gdt' ? Slot.firstReserved : TABLE_ENTRIES;
  const bytes = new Uint8Array(limit * 8);
  const view = new DataView(bytes.buffer);
  const lookup = (selector: number): RawDescriptor | null => {
    if ((selector & 0xfffc) === 0) return null;
    const local = (selector & 4) !== 0;
    if (local === (table === 'ldt')) return guest[selector >>> 3] ?? null;
    return realDescriptor(world.machine, config, selector);
  };
  for (let i = 1; i < Math.min(guest.length, TABLE_ENTRIES); i++) {
    const decision = checkDescriptor(guest[i]!, { vmmBase: config.vmmBase, table, index: i, lookup }, rules.descriptors);
    if (decision.kind === 'refuse') { vmm = recordRefusal(vmm, decision.reason); continue; }
    if (i >= limit) continue;
    // [SENS.SEGREG.1] Each checked entry keeps its index, so the guest's
    // selectors (and what MOV r/m, Sreg and PUSH Sreg show) keep their values.
    view.setUint32(i * 8, decision.descriptor.low, true);
    view.setUint32(i * 8 + 4, decision.descriptor.high, true);
  }
  return { machine: { ...world.machine, memory: writeBytes(world.machine.memory, page, bytes) }, vmm };
}

export type TableLoad = { readonly kind: 'ok'; readonly world: World } | { readonly kind: 'fault'; readonly vector: number; readonly errorCode: number; readonly address?: number } | { readonly kind: 'stop'; readonly reason: string };

const fromCopy = <T>(copy: GuestCopy<T>): TableLoad | null =>
  copy.kind === 'ok' ? null : copy.kind === 'guest-fault' ? { kind: 'fault', vector: 14, errorCode: copy.errorCode, address: copy.address } : { kind: 'stop', reason: copy.reason };

/**
 * [VMM.EXIT.2] LGDT: the guest's new GDTR becomes its virtual GDTR; every
 * entry of its table is checked and copied into the real GDT (the
 * monitor's slots kept); the direct gates are rebuilt, since their targets
 * may have changed. Later edits of the guest's table take effect at its
 * next LGDT (the meso guest reloads after editing).
 */
export function loadGuestGdt(world: World, base: number, limit: number): TableLoad {
  const w0: World = { ...world, vmm: { ...world.vmm, vcpu: { ...world.vmm.vcpu, gdtr: { base, limit } } } };
  const table = readGuestTable(w0, base, limit, Slot.firstReserved + 8);
  const failed = fromCopy(table);
  if (failed !== null || table.kind !== 'ok') return failed!;
  const installed = installTable({ ...w0, machine: { ...w0.machine, memory: table.memory } }, 'gdt', table.value);
  return { kind: 'ok', world: rebuildDirectGates(installed) };
}

/** [VMM.EXIT.2] LLDT: the named guest LDT descriptor is read from the
 * guest's GDT; its entries are checked and copied into the real LDT, which
 * the real LDTR then names (a null selector unloads it). */
export function loadGuestLdt(world: World, selector: number): TableLoad {
  const { config } = world.vmm;
  const vcpu = { ...world.vmm.vcpu, ldtr: selector & 0xffff };
  if ((selector & 0xfffc) === 0) {
    return { kind: 'ok', world: { machine: { ...world.machine, ldtr: { selector: 0, base: 0, limit: 0, attributes: 0, valid: false } }, vmm: { ...world.vmm, vcpu } } };
  }
  const entry = guestGdtEntry(world, selector);
  if (entry.kind !== 'ok') return fromCopy(entry)!;
  const d = entry.value;
  if ((selector & 4) !== 0 || d === null || field.codeOrData(d) || field.type(d) !== 0x2) return { kind: 'fault', vector: 13, errorCode: selector & 0xfffc };
  if (!field.present(d)) return { kind: 'fault', vector: 11, errorCode: selector & 0xfffc };
  const limit = field.granular(d) ? ((field.limitField(d) << 12) | 0xfff) >>> 0 : field.limitField(d);
  const table = readGuestTable({ ...world, machine: { ...world.machine, memory: entry.memory } }, field.base(d), limit, TABLE_ENTRIES);
  if (table.kind !== 'ok') return fromCopy(table)!;
  const w = installTable({ machine: { ...world.machine, memory: table.memory }, vmm: { ...world.vmm, vcpu } }, 'ldt', table.value);
  const realLimit = Math.min(limit, TABLE_ENTRIES * 8 - 1);
  // [SENS.SLDT.1] The real LDTR names the monitor's LDT slot, not the
  // guest's selector: SLDT at ring 1 shows the monitor's choice.
  const ldtr = { selector: LDT_SELECTOR, base: frameLinear(config, Frame.ldt), limit: realLimit, attributes: 0x82, valid: true };
  return { kind: 'ok', world: { ...w, machine: { ...w.machine, ldtr } } };
}

/** [VMM.EXIT.2] LTR: the guest's TSS descriptor is read from its GDT; its
 * ring-1 stack (SS1:ESP1, the field a kernel running in ring 1 on the bare
 * processor would fill) becomes the real TSS's SS1:ESP1 (with RPL 1), where
 * the processor will switch when ring 3 enters the guest kernel. The real
 * TR stays the monitor's. The guest reloads TR after every change of its
 * ESP1, because that change does not trap. */
export function loadGuestTr(world: World, selector: number): TableLoad {
  const entry = guestGdtEntry(world, selector);
  if (entry.kind !== 'ok') return fromCopy(entry)!;
  const d = entry.value;
  if ((selector & 4) !== 0 || d === null || field.codeOrData(d) || (field.type(d) & 0x7) !== 0x1) return { kind: 'fault', vector: 13, errorCode: selector & 0xfffc };
  if (!field.present(d)) return { kind: 'fault', vector: 11, errorCode: selector & 0xfffc };
  const { config } = world.vmm;
  // ESP1 at offset 12, SS1 at offset 16 (SDM vol. 3, 7.2.1).
  const tss = readGuest(entry.memory, config, world.vmm.vcpu, field.base(d) + 12, 8);
  if (tss.kind !== 'ok') return fromCopy(tss)!;
  const esp1 = dwordAt(tss.value, 0), ss1 = wordAt(tss.value, 4);
  const memory = setRealRingStack(tss.memory, config, 1, (ss1 & 0xfffc) | 1, esp1);
  return { kind: 'ok', world: { machine: { ...world.machine, memory }, vmm: { ...world.vmm, vcpu: { ...world.vmm.vcpu, tr: selector & 0xffff } } } };
}

/** [VMM.EXIT.2] LIDT: the guest's IDTR becomes its virtual IDTR and the direct gates are rebuilt. */
export function loadGuestIdt(world: World, base: number, limit: number): TableLoad {
  const w: World = { ...world, vmm: { ...world.vmm, vcpu: { ...world.vmm.vcpu, idtr: { base, limit } } } };
  return { kind: 'ok', world: rebuildDirectGates(w) };
}

// ---------------------------------------------------------------- IDT

/** The gate that sends `vector` into the monitor. */
export const monitorGate = (config: VmmConfig, vector: number): RawDescriptor =>
  gateDescriptor({ selector: MONITOR_CODE_SELECTOR, offset: stubLinear(config, vector), type: 0xe, dpl: 0 });

/**
 * [VMM.IRQ.1] Vectors 0..31 (processor exceptions) always enter the
 * monitor. Every vector from 32 up whose guest gate is a present 32-bit
 * interrupt or trap gate leading to a guest code segment of DPL 1 (checked
 * in the real tables) gets a real gate with the guest's type, DPL, selector
 * and offset: hardware interrupts (wherever the guest put the PIC) and its
 * system-call vector enter the guest kernel with no exit. Other vectors
 * enter the monitor, which reflects them. The guest's IDT is read at its
 * LIDT (and LGDT); later edits take effect at the next LIDT.
 */
// [SENS.INT.1] INT n from ring 3 to the guest's system-call vector goes
// through a direct gate (no exit); from ring 1 a vector still on a monitor
// gate (DPL 0) faults #GP into the monitor, which reflects it (exits.ts).
export function rebuildDirectGates(world: World): World {
  const { config, vcpu, rules } = world.vmm;
  const bytes = new Uint8Array(256 * 8);
  const view = new DataView(bytes.buffer);
  let memory = world.machine.memory;
  for (let v = 0; v < 256; v++) {
    let gate = monitorGate(config, v);
    if (v >= 32 && v * 8 + 7 <= vcpu.idtr.limit) {
      const copy = readGuest(memory, config, vcpu, vcpu.idtr.base + v * 8, 8);
      if (copy.kind === 'ok') {
        memory = copy.memory;
        const g = { low: dwordAt(copy.value, 0), high: dwordAt(copy.value, 4) };
        if (directGateAllowed(world, g, rules.directGateNeedsRing1)) gate = g;
      }
    }
    view.setUint32(v * 8, gate.low, true);
    view.setUint32(v * 8 + 4, gate.high, true);
  }
  return { ...world, machine: { ...world.machine, memory: writeBytes(memory, frameMachine(config, Frame.idt), bytes) } };
}

function directGateAllowed(world: World, g: RawDescriptor, needRing1: boolean): boolean {
  if (field.codeOrData(g) || !field.present(g) || (field.type(g) !== 0xe && field.type(g) !== 0xf)) return false;
  const selector = field.gateSelector(g);
  if ((selector & 4) === 0 && (selector >>> 3) >= Slot.firstReserved) return false;
  const target = realDescriptor(world.machine, world.vmm.config, selector);
  if (target === null || isNull(target) || !field.isCode(target) || !field.present(target)) return false;
  return needRing1 ? field.dpl(target) === 1 : true;
}

/** Sizes of the real tables, for GDTR/IDTR. */
export const REAL_GDT_LIMIT = TABLE_ENTRIES * 8 - 1;
export const REAL_IDT_LIMIT = 256 * 8 - 1;
export const zeroPage = (memory: PhysicalMemory, config: VmmConfig, frame: number): PhysicalMemory => writeBytes(memory, frameMachine(config, frame), new Uint8Array(PAGE));
export { segmentCache };
