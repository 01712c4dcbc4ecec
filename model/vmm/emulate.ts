// Emulation of the privileged instructions the guest kernel executes at
// ring 1. Each one trapped with #GP(0); the monitor decodes it at the
// guest's CS:EIP and does to the *virtual* CPU what the instruction would
// have done to the real one at ring 0.
import { match } from 'ts-pattern';
import type { Instruction, Operand } from '../isa/ast';
import { decode } from '../isa/decoder';
import { effectiveAddress, segmentLinear } from '../cpu/context';
import type { MachineState, SegmentRegister } from '../cpu/state';
import { clockAt, portRead, portWrite, CONSOLE_PORT, EXIT_PORT } from '../cpu/devices';
import { IF } from '../cpu/eflags';
import { CR4_TSD, MSR_SYSENTER_CS, MSR_SYSENTER_EIP, MSR_SYSENTER_ESP, MSR_TSC, timeStampCounter } from '../cpu/system/msr';
import { CR0_PG, CR0_WP, CR4_PSE } from '../cpu/paging';
import { emptyTlb, tlbInvalidate } from '../cpu/tlb';
import { segmentCache } from './descriptors';
import { dwordAt, readGuest, wordAt } from './guest-paging';
import { flushShadow, invalidateShadowPage } from './shadow';
import { loadGuestGdt, loadGuestIdt, loadGuestLdt, loadGuestTr, realDescriptor, type TableLoad } from './tables';
import { recordRefusal, type VirtualCpu, type World } from './state';
import type { TrapFrame } from './frame';
import { modeInvlpg, modePagingWrite } from './memory/dispatch';

export type Emulation =
  | { readonly kind: 'ok'; readonly world: World; readonly frame: TrapFrame }
  | { readonly kind: 'fault'; readonly vector: number; readonly errorCode: number; readonly address?: number }
  | { readonly kind: 'stop'; readonly reason: string }
  /** Not an instruction the monitor emulates: the guest gets the #GP. */
  | { readonly kind: 'not-emulated'; readonly mnemonic: string };

/** The guest's registers as they were when it trapped (ESP, CS, SS from the frame). */
export function guestView(world: World, frame: TrapFrame): MachineState {
  const { machine, vmm } = world;
  const cache = (selector: number): SegmentRegister => {
    const d = realDescriptor(machine, vmm.config, selector);
    return d === null ? { selector, base: 0, limit: 0, attributes: 0, valid: false } : segmentCache(selector, d);
  };
  const regs = machine.regs.slice();
  regs[4] = frame.esp;
  return { ...machine, regs, eip: frame.eip, eflags: frame.eflags, segments: { ...machine.segments, cs: cache(frame.cs), ss: cache(frame.ss) } };
}

/** Fetch and decode the instruction at the guest's CS:EIP through its paging. */
export function fetchGuestInstruction(world: World, guest: MachineState): { instruction: Instruction; length: number } | null {
  const cs = guest.segments.cs;
  const bytes: number[] = [];
  for (let i = 0; i < 15; i++) {
    const offset = (guest.eip + i) >>> 0;
    if (offset > cs.limit) return null;
    const b = readGuest(world.machine.memory, world.vmm.config, world.vmm.vcpu, cs.base + offset, 1);
    if (b.kind !== 'ok') return null;
    bytes.push(b.value[0]!);
    const d = decode(bytes);
    if (d.kind === 'ok') return { instruction: d.instruction, length: d.length };
    if (d.kind !== 'truncated') return null;
  }
  return null;
}

type Mem = Extract<Operand, { kind: 'mem' }>;

/** Read `bytes` bytes of a memory operand as the guest at ring 1 would. */
function readOperandBytes(world: World, guest: MachineState, instr: Instruction, mem: Mem, bytes: number): { kind: 'ok'; value: Uint8Array } | Exclude<Emulation, { kind: 'ok' }> {
  const { segment, offset } = effectiveAddress(guest, instr, mem);
  const linear = segmentLinear(guest, segment, offset, bytes, false);
  if (linear.kind !== 'ok') return { kind: 'fault', vector: linear.vector, errorCode: linear.errorCode ?? 0 };
  const copy = readGuest(world.machine.memory, world.vmm.config, world.vmm.vcpu, linear.value, bytes);
  if (copy.kind === 'guest-fault') return { kind: 'fault', vector: 14, errorCode: copy.errorCode, address: copy.address };
  if (copy.kind === 'outside') return { kind: 'stop', reason: copy.reason };
  return { kind: 'ok', value: copy.value };
}

/** A general register write on the guest's behalf (ESP lives in the frame). */
function setRegister(world: World, frame: TrapFrame, reg: number, value: number, size: 8 | 16 | 32 = 32): { world: World; frame: TrapFrame } {
  const old = reg === 4 && size === 32 ? frame.esp : world.machine.regs[size === 8 ? reg & 3 : reg]!;
  const merged = size === 32 ? value >>> 0
    : size === 16 ? ((old & 0xffff0000) | (value & 0xffff)) >>> 0
    : reg < 4 ? ((old & 0xffffff00) | (value & 0xff)) >>> 0 : ((old & 0xffff00ff) | ((value & 0xff) << 8)) >>> 0;
  const index = size === 8 ? reg & 3 : reg;
  if (index === 4 && size !== 8) return { world, frame: { ...frame, esp: merged } };
  const regs = world.machine.regs.slice();
  regs[index] = merged;
  return { world: { ...world, machine: { ...world.machine, regs } }, frame };
}

const ok = (world: World, frame: TrapFrame): Emulation => ({ kind: 'ok', world, frame });
const fromTable = (r: TableLoad, frame: TrapFrame): Emulation => (r.kind === 'ok' ? ok(r.world, frame) : r);

/**
 * [VMM.EXIT.3] A write to the virtual CR0/CR3/CR4. CR0 keeps ET set and PE
 * set (clearing PE would leave protected mode, outside our subset: the
 * guest is stopped). [VMM.SHADOW.7] applies on CR3 and on changes of PG, WP
 * and PSE.
 */
function writeControl(world: World, reg: 0 | 2 | 3 | 4, value: number): World | string {
  const v = world.vmm.vcpu;
  const next: VirtualCpu = match(reg)
    .with(0, () => ({ ...v, cr0: (value | 0x10) >>> 0 }))
    .with(2, () => ({ ...v, cr2: value >>> 0 }))
    .with(3, () => ({ ...v, cr3: value >>> 0 }))
    .with(4, () => ({ ...v, cr4: value >>> 0 }))
    .exhaustive();
  if ((next.cr0 & 1) === 0) return 'the guest cleared CR0.PE';
  const pagingChanged = ((v.cr0 ^ next.cr0) & (CR0_PG | CR0_WP)) !== 0 || ((v.cr4 ^ next.cr4) & CR4_PSE) !== 0;
  const flush = pagingChanged || (reg === 3 && world.vmm.rules.shadow.flushOnCr3Write);
  // [VMM.TSC.1] The real CR4.TSD follows the guest's: with it set, RDTSC at
  // ring 1 traps (and is emulated) and at ring 3 faults as on the bare machine.
  const cr4 = ((world.machine.cr4 & ~CR4_TSD) | (next.cr4 & CR4_TSD)) >>> 0;
  let w: World = { machine: { ...world.machine, cr4 }, vmm: { ...world.vmm, vcpu: next } };
  const byMode = reg === 2 ? null : modePagingWrite(w, v);
  if (byMode !== null) return byMode;
  if (flush) {
    const f = flushShadow(w.machine.memory, w.vmm.config);
    w = { machine: { ...w.machine, memory: f.memory, tlb: emptyTlb }, vmm: { ...w.vmm, shadow: f.shadow } };
  }
  return w;
}

const readControl = (v: VirtualCpu, reg: 0 | 2 | 3 | 4): number => (reg === 0 ? v.cr0 : reg === 2 ? v.cr2 : reg === 3 ? v.cr3 : v.cr4);

/** [VMM.EXIT.5] Ports the guest owns: the console, the exit port, the PIT
 * and both PICs are emulated by passing the access to the device model;
 * every other port is refused (reads give all ones, as an empty bus would;
 * writes are dropped) and the refusal recorded. */
export const GUEST_PORTS: ReadonlySet<number> = new Set([CONSOLE_PORT, EXIT_PORT, 0x40, 0x41, 0x42, 0x43, 0x20, 0x21, 0xa0, 0xa1]);

/** The VMM rule that specifies the emulation of each instruction emulate()
 * knows (spec/vmm.md): the arms of its match, by mnemonic. MOV is the MOV
 * to and from control registers (the only MOV that traps). */
export const EMULATION_RULES: Readonly<Record<string, string>> = {
  cli: 'VMM.EXIT.1', sti: 'VMM.EXIT.1',
  lgdt: 'VMM.EXIT.2', lidt: 'VMM.EXIT.2', lldt: 'VMM.EXIT.2', ltr: 'VMM.EXIT.2',
  mov: 'VMM.EXIT.3', clts: 'VMM.EXIT.3', lmsw: 'VMM.EXIT.3',
  invlpg: 'VMM.SHADOW.8',
  hlt: 'VMM.EXIT.4',
  in: 'VMM.EXIT.5', out: 'VMM.EXIT.5',
  rdtsc: 'VMM.TSC.1',
  rdmsr: 'VMM.MSR.1', wrmsr: 'VMM.MSR.1',
};

/** The rule by which the monitor emulates `instr`, if it is one it emulates. */
export const emulationRule = (instr: Instruction): string | undefined => EMULATION_RULES[instr.mnemonic];

/** Emulate the trapped instruction; `frame.eip` is advanced past it on success. */
export function emulate(world: World, frame: TrapFrame, instr: Instruction, length: number): Emulation {
  const guest = guestView(world, frame);
  const next = { ...frame, eip: (frame.eip + length) >>> 0 };
  const ops = instr.operands;
  const vmm = world.vmm;
  return match(instr.mnemonic)
    // [VMM.EXIT.1] CLI and STI change the virtual IF, which is the IF of the
    // EFLAGS the guest runs with: the monitor edits the frame it returns
    // with. After STI, the processor's one-instruction interrupt shadow is
    // kept by the return (so `sti; hlt` cannot lose a wake-up).
    .with('cli', () => ok(world, { ...next, eflags: (next.eflags & ~IF) >>> 0 }))
    .with('sti', () => {
      const wasOff = (frame.eflags & IF) === 0;
      const eflags = vmm.rules.stiSetsIf ? (next.eflags | IF) >>> 0 : next.eflags;
      const w = { ...world, vmm: { ...vmm, afterReturn: { ...vmm.afterReturn, interruptShadow: wasOff } } };
      return ok(w, { ...next, eflags });
    })
    // [VMM.EXIT.4] HLT: the guest waits for its next interrupt. The monitor
    // returns past the HLT and halts the processor at the guest's privilege,
    // so the interrupt enters through the guest's direct gate.
    .with('hlt', () => ok({ ...world, vmm: { ...vmm, afterReturn: { ...vmm.afterReturn, halt: true } } }, next))
    .with('lgdt', 'lidt', () => {
      const mem = ops[0];
      if (mem?.kind !== 'mem') return { kind: 'not-emulated', mnemonic: instr.mnemonic } as Emulation;
      const bytes = readOperandBytes(world, guest, instr, mem, 6);
      if (bytes.kind !== 'ok') return bytes;
      const limit = wordAt(bytes.value, 0);
      const base = instr.operandSize === 16 ? dwordAt(bytes.value, 2) & 0xffffff : dwordAt(bytes.value, 2);
      return fromTable(instr.mnemonic === 'lgdt' ? loadGuestGdt(world, base, limit) : loadGuestIdt(world, base, limit), next);
    })
    .with('lldt', 'ltr', () => {
      const op = ops[0];
      let selector: number;
      if (op?.kind === 'reg') selector = op.reg === 4 ? frame.esp & 0xffff : world.machine.regs[op.reg]! & 0xffff;
      else if (op?.kind === 'mem') {
        const bytes = readOperandBytes(world, guest, instr, op, 2);
        if (bytes.kind !== 'ok') return bytes;
        selector = wordAt(bytes.value, 0);
      } else return { kind: 'not-emulated', mnemonic: instr.mnemonic } as Emulation;
      return fromTable(instr.mnemonic === 'lldt' ? loadGuestLdt(world, selector) : loadGuestTr(world, selector), next);
    })
    .with('mov', () => {
      const [dst, src] = ops;
      if (dst?.kind === 'creg' && src?.kind === 'reg') {
        const value = src.reg === 4 ? frame.esp : world.machine.regs[src.reg]!;
        const w = writeControl(world, dst.reg, value);
        return typeof w === 'string' ? ({ kind: 'stop', reason: w } as Emulation) : ok(w, next);
      }
      if (dst?.kind === 'reg' && src?.kind === 'creg') {
        const r = setRegister(world, next, dst.reg, readControl(vmm.vcpu, src.reg));
        return ok(r.world, r.frame);
      }
      return { kind: 'not-emulated', mnemonic: 'mov' } as Emulation;
    })
    // [VMM.EXIT.3] CLTS clears the virtual CR0.TS; LMSW writes the low four
    // bits of the virtual CR0 but cannot clear PE.
    .with('clts', () => ok({ ...world, vmm: { ...vmm, vcpu: { ...vmm.vcpu, cr0: (vmm.vcpu.cr0 & ~8) >>> 0 } } }, next))
    .with('lmsw', () => {
      const op = ops[0];
      let value: number;
      if (op?.kind === 'reg') value = world.machine.regs[op.reg]! & 0xffff;
      else if (op?.kind === 'mem') {
        const bytes = readOperandBytes(world, guest, instr, op, 2);
        if (bytes.kind !== 'ok') return bytes;
        value = wordAt(bytes.value, 0);
      } else return { kind: 'not-emulated', mnemonic: 'lmsw' } as Emulation;
      const cr0 = ((vmm.vcpu.cr0 & ~0xe) | (value & 0xf) | (vmm.vcpu.cr0 & 1)) >>> 0;
      return ok({ ...world, vmm: { ...vmm, vcpu: { ...vmm.vcpu, cr0 } } }, next);
    })
    .with('invlpg', () => {
      const mem = ops[0];
      if (mem?.kind !== 'mem') return { kind: 'not-emulated', mnemonic: 'invlpg' } as Emulation;
      const { segment, offset } = effectiveAddress(guest, instr, mem);
      const linear = (guest.segments[segment].base + offset) >>> 0;
      if (!vmm.rules.shadow.flushOnInvlpg) return ok(world, next);
      const byMode = modeInvlpg(world, linear);
      if (byMode !== null) return ok(byMode, next);
      const memory = invalidateShadowPage(world.machine.memory, vmm.config, linear);
      return ok({ ...world, machine: { ...world.machine, memory, tlb: tlbInvalidate(world.machine.tlb, linear) } }, next);
    })
    .with('in', 'out', () => {
      const isIn = instr.mnemonic === 'in';
      const data = isIn ? ops[0] : ops[1];
      const portOp = isIn ? ops[1] : ops[0];
      if (data?.kind !== 'reg' || portOp === undefined) return { kind: 'not-emulated', mnemonic: instr.mnemonic } as Emulation;
      const port = portOp.kind === 'imm' ? portOp.value & 0xff : world.machine.regs[2]! & 0xffff;
      const size = data.size;
      const owned = GUEST_PORTS.has(port);
      if (isIn) {
        const r = owned ? portRead(world.machine.devices, port, size, clockAt(world.machine.devices, world.machine.instructionCount)) : { value: size === 32 ? 0xffffffff : (1 << size) - 1, devices: world.machine.devices };
        const w0: World = { machine: { ...world.machine, devices: r.devices }, vmm: owned ? vmm : recordRefusal(vmm, `IN from port 0x${port.toString(16)}`) };
        const set = setRegister(w0, next, 0, r.value, size);
        return ok(set.world, set.frame);
      }
      const value = world.machine.regs[0]!;
      if (!owned) return ok({ ...world, vmm: recordRefusal(vmm, `OUT to port 0x${port.toString(16)}`) }, next);
      return ok({ ...world, machine: { ...world.machine, devices: portWrite(world.machine.devices, port, size, value, clockAt(world.machine.devices, world.machine.instructionCount)) } }, next);
    })
    // [VMM.TSC.1] RDTSC traps at ring 1 only while the guest has CR4.TSD set:
    // the guest kernel is at its virtual CPL 0, so it gets the real counter.
    .with('rdtsc', () => {
      const [high, low] = timeStampCounter(world.machine);
      const a = setRegister(world, next, 2, high);
      const b = setRegister(a.world, a.frame, 0, low);
      return ok(b.world, b.frame);
    })
    // [VMM.MSR.1] RDMSR and WRMSR trap at ring 1. The SYSENTER registers are
    // virtual: the guest reads back what it wrote, and the real ones stay
    // zero (VMM.MSR.2). The TSC reads as the real counter; a write to it is
    // dropped and recorded as a refusal (the machine's time is the
    // monitor's). Any other MSR: the guest gets the #GP(0) the CPU would give.
    .with('rdmsr', 'wrmsr', () => {
      const msr = world.machine.regs[1]! >>> 0;
      const sysenter = vmm.vcpu.sysenter ?? { cs: 0, esp: 0, eip: 0 };
      const field = msr === MSR_SYSENTER_CS ? 'cs' : msr === MSR_SYSENTER_ESP ? 'esp' : msr === MSR_SYSENTER_EIP ? 'eip' : null;
      if (field === null && msr !== MSR_TSC) return { kind: 'not-emulated', mnemonic: instr.mnemonic } as Emulation;
      if (instr.mnemonic === 'wrmsr') {
        if (field === null) return ok({ ...world, vmm: recordRefusal(vmm, 'WRMSR to the time-stamp counter') }, next);
        const value = world.machine.regs[0]! >>> 0;
        return ok({ ...world, vmm: { ...vmm, vcpu: { ...vmm.vcpu, sysenter: { ...sysenter, [field]: value } } } }, next);
      }
      const [high, low] = field === null ? timeStampCounter(world.machine) : [0, sysenter[field]];
      const a = setRegister(world, next, 2, high);
      const b = setRegister(a.world, a.frame, 0, low);
      return ok(b.world, b.frame);
    })
    .otherwise((m) => ({ kind: 'not-emulated', mnemonic: m }) as Emulation);
}
