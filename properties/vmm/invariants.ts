// The monitor's invariants (DESIGN.md §5), checked after every step of a
// world. Each checker returns null or a description of the violation.
import { readBytes, readPhysical, samePage } from '../../model/cpu/memory';
import { cpl, effectiveAddress } from '../../model/cpu/context';
import { instructionAt } from './equivalence';
import type { SegmentRegister } from '../../model/cpu/state';
import { Frame, frameMachine, inPartition, MONITOR_FRAMES, Slot, STUB_SIZE, frameLinear, TABLE_ENTRIES } from '../../model/vmm/config';
import { endsBelowBase, type RawDescriptor } from '../../model/vmm/descriptors';
import { realEntrySafe } from '../../model/vmm/check';
import { realDescriptor } from '../../model/vmm/tables';
import type { World } from '../../model/vmm/state';
import type { WorldStep } from '../../model/vmm/run';

export interface Violation { readonly rule: string; readonly message: string }

/** The descriptor a segment cache was loaded from (enough for its range). */
function cacheAsDescriptor(s: SegmentRegister): RawDescriptor {
  const granular = (s.attributes & 0x8000) !== 0;
  const limitField = granular ? s.limit >>> 12 : s.limit;
  const high = ((s.base & 0xff000000) | ((s.base >>> 16) & 0xff) | ((s.attributes & 0xf0ff) << 8) | (limitField & 0xf0000)) >>> 0;
  return { low: (((s.base & 0xffff) << 16) | (limitField & 0xffff)) >>> 0, high };
}

/** [VMM.RING] CPL 0 only on an entry stub of the monitor. */
export function checkRing(world: World): Violation | null {
  const m = world.machine;
  if (cpl(m) !== 0) return null;
  const code = frameLinear(world.vmm.config, Frame.code);
  const offset = (m.eip - code) >>> 0;
  if (m.eip >>> 0 >= code && offset < 256 * STUB_SIZE && offset % STUB_SIZE === 0) return null;
  return { rule: 'VMM.RING', message: `CPL 0 at EIP 0x${m.eip.toString(16)}, outside the monitor's stubs` };
}

/** [VMM.SEG] Loaded segment registers at CPL > 0, and the real tables. */
export function checkSegments(world: World, scanTables: boolean): Violation | null {
  const { machine, vmm } = world;
  const base = vmm.config.vmmBase;
  if (cpl(machine) > 0) {
    for (const [name, s] of Object.entries(machine.segments)) {
      if (!s.valid || (s.selector & 0xfffc) === 0) continue;
      const dpl = (s.attributes >>> 5) & 3;
      if (dpl < 1) return { rule: 'VMM.SEG', message: `${name} holds a DPL-0 segment at CPL ${cpl(machine)}` };
      if (!endsBelowBase(cacheAsDescriptor(s), base)) return { rule: 'VMM.SEG', message: `${name} (base 0x${s.base.toString(16)}, limit 0x${s.limit.toString(16)}) reaches the VMM base` };
    }
  }
  if (!scanTables) return null;
  const lookup = (sel: number) => realDescriptor(machine, vmm.config, sel);
  for (const [table, count] of [[Frame.gdt, Slot.firstReserved], [Frame.ldt, TABLE_ENTRIES]] as const) {
    const at = frameMachine(vmm.config, table);
    for (let i = 1; i < count; i++) {
      const d = { low: readPhysical(machine.memory, at + 8 * i, 4), high: readPhysical(machine.memory, at + 8 * i + 4, 4) };
      const problem = realEntrySafe(d, base, lookup);
      if (problem !== null) return { rule: 'VMM.SEG', message: `real ${table === Frame.gdt ? 'GDT' : 'LDT'} entry ${i}: ${problem}` };
    }
  }
  return null;
}

/** [VMM.ISO] A guest step leaves every monitor frame as it was (pages compared by identity, then by content). */
export function checkIsolation(before: World, after: World, step: WorldStep): Violation | null {
  if (step.kind !== 'guest') return null;
  const cfg = before.vmm.config;
  for (let f = 0; f < MONITOR_FRAMES; f++) {
    const a = frameMachine(cfg, f);
    if (samePage(before.machine.memory, after.machine.memory, a)) continue;
    const pa = readBytes(before.machine.memory, a, 4096);
    const pb = readBytes(after.machine.memory, a, 4096);
    // The processor's own page walks set accessed/dirty bits (0x60) in the
    // shadow tables; those are the hardware's writes, not the guest's.
    const paging = f === Frame.shadowDirectory || f === Frame.monitorTable || f >= Frame.shadowPool;
    for (let i = 0; i < 4096; i++) {
      const mask = paging && i % 4 === 0 ? 0x9f : 0xff;
      if ((pa[i]! & mask) !== (pb[i]! & mask)) return { rule: 'VMM.ISO', message: `a guest step changed VMM frame ${f} at byte ${i}` };
    }
  }
  return null;
}

const STACK_OPS = new Set(['push', 'pop', 'pushf', 'popf', 'pusha', 'popa', 'call', 'callf', 'ret', 'retf', 'iret', 'int', 'int3', 'into', 'enter', 'leave']);
const STRING_SOURCE = new Set(['movs', 'lods', 'cmps', 'outs']);
const STRING_DESTINATION = new Set(['movs', 'stos', 'cmps', 'scas', 'ins']);
const NO_ACCESS = new Set(['lea', 'invlpg', 'nop']);

/**
 * [VMM.ISO] for reads as well as writes: the linear addresses a guest step
 * at CPL > 0 touched lie below the VMM base. The model keeps no log of its
 * accesses, so they are computed from the instruction that retired: each
 * explicit memory operand (its segment base plus effective address, over
 * its size), the stack slot at SS:ESP before and after a stack operation,
 * and DS:ESI / ES:EDI of a string instruction. (Implicit descriptor-table
 * and page-walk reads are the processor's own, through the real tables.)
 */
export function checkReads(before: World, after: World, step: WorldStep): Violation | null {
  if (step.kind !== 'guest' || step.event.kind !== 'retired') return null;
  const m = before.machine;
  if (cpl(m) === 0) return null;
  const instr = instructionAt(m);
  if (instr === null || NO_ACCESS.has(instr.mnemonic)) return null;
  const base = before.vmm.config.vmmBase;
  const touched: Array<[string, number, number]> = [];
  for (const op of instr.operands) {
    if (op.kind !== 'mem' || op.size === 0) continue;
    const { segment, offset } = effectiveAddress(m, instr, op);
    touched.push([`${segment}:${hex(offset)}`, (m.segments[segment].base + offset) >>> 0, Math.max(1, op.size >>> 3)]);
  }
  if (STACK_OPS.has(instr.mnemonic)) {
    const ss = m.segments.ss.base;
    touched.push(['ss:esp', (ss + m.regs[4]! - 4) >>> 0, 4], ['ss:esp after', (after.machine.segments.ss.base + after.machine.regs[4]!) >>> 0, 4]);
  }
  const string = instr.mnemonic.replace(/[bwd]$/, '');
  if (STRING_SOURCE.has(string)) touched.push(['ds:esi', (m.segments[instr.segment ?? 'ds'].base + m.regs[6]!) >>> 0, 1]);
  if (STRING_DESTINATION.has(string)) touched.push(['es:edi', (m.segments.es.base + m.regs[7]!) >>> 0, 1]);
  for (const [what, linear, bytes] of touched) {
    if (linear + bytes - 1 >= base) {
      return { rule: 'VMM.ISO', message: `a CPL-${cpl(m)} ${instr.mnemonic} touched linear ${hex(linear)} (${what}), at or above the VMM base` };
    }
  }
  return null;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** [VMM.RES] The real control and table registers keep their boot values
 * (CR4.TSD aside, which follows the guest's: VMM.TSC.1); shadow entries
 * below the VMM base map only partition frames. */
export function checkResources(boot: World, world: World, scanShadow: boolean): Violation | null {
  const a = boot.machine, b = world.machine;
  const TSD = 0x4;
  const same = a.cr0 === b.cr0 && a.cr3 === b.cr3 && (a.cr4 & ~TSD) === (b.cr4 & ~TSD) && a.gdtr.base === b.gdtr.base && a.gdtr.limit === b.gdtr.limit
    && a.idtr.base === b.idtr.base && a.idtr.limit === b.idtr.limit && a.tr.selector === b.tr.selector && a.tr.base === b.tr.base;
  if (!same) return { rule: 'VMM.RES', message: 'a real control or table register changed' };
  if (!scanShadow) return null;
  const cfg = world.vmm.config;
  const dir = frameMachine(cfg, Frame.shadowDirectory);
  for (let i = 0; i < cfg.vmmBase >>> 22; i++) {
    const pde = readPhysical(b.memory, dir + 4 * i, 4);
    if ((pde & 1) === 0) continue;
    const table = pde & 0xfffff000;
    if (table < frameMachine(cfg, Frame.shadowPool) || table >= frameMachine(cfg, MONITOR_FRAMES)) return { rule: 'VMM.RES', message: `shadow PDE ${i} points outside the shadow pool` };
    for (let j = 0; j < 1024; j++) {
      const pte = readPhysical(b.memory, table + 4 * j, 4);
      if ((pte & 1) !== 0 && !inPartition(cfg, pte & 0xfffff000, 4096)) {
        return { rule: 'VMM.RES', message: `shadow entry for 0x${(((i << 22) | (j << 12)) >>> 0).toString(16)} maps machine 0x${(pte >>> 0).toString(16)}, outside the partition` };
      }
    }
  }
  return null;
}

/** Every invariant after one step (tables and shadow scanned only after exits, when they change). */
export function checkStep(boot: World, before: World, after: World, step: WorldStep): Violation | null {
  const exit = step.kind === 'exit';
  return checkRing(after) ?? checkSegments(after, exit) ?? checkIsolation(before, after, step) ?? checkReads(before, after, step) ?? checkResources(boot, after, exit);
}
