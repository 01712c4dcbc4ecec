// The hypercalls: what the monitor does for each operation a para guest
// asks for. Each returns the world with the guest's EAX set, or a reason to
// stop the guest; none throws.
import { match } from 'ts-pattern';
import { clockAt, portWrite, CONSOLE_PORT } from '../../cpu/devices';
import { CR0_PG, CR0_WP } from '../../cpu/paging';
import { emptyTlb } from '../../cpu/tlb';
import { readPhysical, writeBytes } from '../../cpu/memory';
import { Frame, frameMachine, MONITOR_CODE_SELECTOR, PAGE, stubLinear, type VmmConfig } from '../config';
import { field, gateDescriptor } from '../descriptors';
import { dwordAt, readGuest } from '../guest-paging';
import { flushShadow } from '../shadow';
import { loadGuestGdt, loadGuestIdt, monitorGate, realDescriptor, setRealRingStack } from '../tables';
import type { TrapFrame } from '../frame';
import type { VirtualCpu, World } from '../state';
import { modePagingWrite } from '../memory/dispatch';
import { Hypercall, HYPERCALL_VECTOR, type ParaState } from './interface';
import { applyRequest, checkBaseptr } from './mmu';

export type HypercallResult =
  | { readonly kind: 'return'; readonly world: World; readonly frame: TrapFrame; readonly result: number }
  /** iret: the frame the guest returns to (EAX restored). */
  | { readonly kind: 'iret'; readonly world: World; readonly frame: TrapFrame }
  | { readonly kind: 'stop'; readonly reason: string };

const FAIL = 0xffffffff;

const withPara = (world: World, para: ParaState): World => ({ ...world, vmm: { ...world.vmm, para } });

/** [PARA.MMU.8] After the guest's tables or base pointer changed: under
 * single-shadow the shadow and the TLB are emptied (a CR3 write's effect);
 * under direct paging the tables under the virtual CR3 are validated again
 * and become the real ones (vmm.md, the memory mode's rule for a CR3 write).
 * A string stops the guest. */
function pagingChanged(world: World, previous: VirtualCpu): World | string {
  const byMode = modePagingWrite(world, previous);
  if (byMode !== null) return byMode;
  const f = flushShadow(world.machine.memory, world.vmm.config);
  return { machine: { ...world.machine, memory: f.memory, tlb: emptyTlb }, vmm: { ...world.vmm, shadow: f.shadow } };
}

/** [PARA.CALL.1] The hypercall gate: an interrupt gate (the monitor's stub
 * must reach its IRET with interrupts off) of DPL 1 to the monitor's stub. */
export const hypercallGate = (config: VmmConfig, dpl: 1 | 3) =>
  gateDescriptor({ selector: MONITOR_CODE_SELECTOR, offset: stubLinear(config, HYPERCALL_VECTOR), type: 0xe, dpl });

/**
 * [PARA.TRAP.1] After the guest's trap table (or GDT) is loaded, the real
 * IDT keeps a direct gate only for vectors whose guest gate has DPL 3 (system
 * calls), turned into a trap gate so that the real IF stays 1 in the guest
 * kernel [PARA.TRAP.2]; hardware interrupts enter the monitor, which honours
 * the virtual IF; the hypercall gate is (re)installed.
 */
export function installParaGates(world: World): World {
  const { config } = world.vmm;
  const idt = frameMachine(config, Frame.idt);
  const bytes = new Uint8Array(256 * 8);
  const view = new DataView(bytes.buffer);
  const current = world.machine.memory;
  for (let v = 0; v < 256; v++) {
    const low = readU32(current, idt + 8 * v), high = readU32(current, idt + 8 * v + 4);
    let gate = { low, high };
    const mine = monitorGate(config, v);
    const direct = gate.low !== mine.low || gate.high !== mine.high;
    if (direct) gate = field.dpl(gate) === 3 ? { low, high: (high | 0x100) >>> 0 } : mine;
    if (v === HYPERCALL_VECTOR) gate = hypercallGate(config, world.vmm.para?.rules.hypercallFromRing3 ? 3 : 1);
    view.setUint32(8 * v, gate.low, true);
    view.setUint32(8 * v + 4, gate.high, true);
  }
  return { ...world, machine: { ...world.machine, memory: writeBytes(current, idt, bytes) } };
}

const readU32 = (memory: World['machine']['memory'], address: number): number => readPhysical(memory, address, 4);

/** Run one hypercall. `frame` is the guest's (EIP already past the INT). */
export function hypercall(world: World, frame: TrapFrame): HypercallResult {
  const regs = world.machine.regs;
  const op = regs[0]! >>> 0, a = regs[3]! >>> 0, b = regs[1]! >>> 0;
  const para = world.vmm.para!;
  const { config } = world.vmm;
  const done = (w: World, result = 0): HypercallResult => ({ kind: 'return', world: w, frame, result });
  const table = (r: ReturnType<typeof loadGuestIdt>): HypercallResult =>
    r.kind === 'ok' ? done(installParaGates(r.world)) : r.kind === 'stop' ? r : done(world, FAIL);
  return match(op)
    // [PARA.CALL.2] set_trap_table and set_gdt take the place of LIDT and
    // LGDT: the same checks and copies as the trapped instructions.
    .with(Hypercall.setTrapTable, () => table(loadGuestIdt(world, a, b & 0xffff)))
    .with(Hypercall.setGdt, () => table(loadGuestGdt(world, a, b & 0xffff)))
    // [PARA.CALL.3] stack_switch takes the place of LTR and TSS writes: the
    // ring-1 stack must be a writable data segment of DPL 1 in the real GDT.
    .with(Hypercall.stackSwitch, () => {
      const d = realDescriptor(world.machine, config, a & 0xffff);
      const usable = d !== null && field.codeOrData(d) && !field.isCode(d) && (field.type(d) & 2) !== 0 && field.dpl(d) === 1 && (a & 3) === 1;
      if (!usable || b > config.vmmBase) return done(world, FAIL);
      return done({ ...world, machine: { ...world.machine, memory: setRealRingStack(world.machine.memory, config, 1, a & 0xffff, b) } });
    })
    .with(Hypercall.mmuUpdate, () => {
      let w = world, p = para, flush = false, n = 0;
      for (; n < b; n++) {
        const copy = readGuest(w.machine.memory, config, w.vmm.vcpu, (a + 8 * n) >>> 0, 8);
        if (copy.kind !== 'ok') break;
        const r = applyRequest(copy.memory, config, p, { ptr: dwordAt(copy.value, 0), val: dwordAt(copy.value, 4) });
        if (r.kind !== 'ok') { p = { ...p, mmuRefused: p.mmuRefused + 1 }; break; }
        w = { ...w, machine: { ...w.machine, memory: r.memory } };
        p = r.para;
        flush ||= r.flush;
      }
      w = withPara(w, p);
      const direct = w.vmm.memory?.kind === 'direct' && (w.vmm.vcpu.cr0 & CR0_PG) !== 0;
      if (flush || (direct && n > 0)) {
        const changed = pagingChanged(w, w.vmm.vcpu);
        if (typeof changed === 'string') return { kind: 'stop', reason: changed } as HypercallResult;
        w = changed;
      }
      // [PARA.MMU.1] The batch stops at the first refused request; EAX is the
      // number applied, so the guest sees how far it got (as Xen's count).
      return done(w, n === b ? n : FAIL);
    })
    .with(Hypercall.newBaseptr, () => {
      const c = checkBaseptr(world.machine.memory, config, para, a);
      if (c.kind !== 'ok') return done(withPara(world, { ...para, mmuRefused: para.mmuRefused + 1 }), FAIL);
      // [PARA.MMU.7] The guest now runs paged on this directory (with CR0.WP:
      // the kernel cannot write through its read-only mappings of tables).
      const vcpu = { ...world.vmm.vcpu, cr3: a, cr0: (world.vmm.vcpu.cr0 | CR0_PG | CR0_WP) >>> 0 };
      const changed = pagingChanged({ ...world, vmm: { ...world.vmm, vcpu, para: c.para } }, world.vmm.vcpu);
      return typeof changed === 'string' ? ({ kind: 'stop', reason: changed } as HypercallResult) : done(changed);
    })
    // [PARA.SHARED.2] register_shared names a page-aligned guest-physical page of the partition.
    .with(Hypercall.registerShared, () => {
      if ((a & 0xfff) !== 0 || a + PAGE > config.partitionSize) return done(world, FAIL);
      return done(withPara(world, { ...para, shared: a }));
    })
    // [PARA.IF.4] iret: the guest pushed EAX over an IRET frame; the monitor
    // pops both and returns there (delivering a pending interrupt first).
    .with(Hypercall.iret, () => {
      const copy = readGuest(world.machine.memory, config, world.vmm.vcpu, frame.esp, 24);
      if (copy.kind !== 'ok') return { kind: 'stop', reason: 'the iret hypercall frame is not readable' } as HypercallResult;
      const at = (i: number): number => dwordAt(copy.value, 4 * i);
      const cs = at(2) & 0xffff;
      if ((cs & 3) === 0) return { kind: 'stop', reason: 'iret hypercall to ring 0' } as HypercallResult;
      const outer = (cs & 3) > (frame.cs & 3);
      const machineRegs = world.machine.regs.slice();
      machineRegs[0] = at(0);
      const next: TrapFrame = {
        errorCode: frame.errorCode, eip: at(1), cs, eflags: at(3),
        esp: outer ? at(4) : (frame.esp + 16) >>> 0, ss: outer ? at(5) & 0xffff : frame.ss,
      };
      return { kind: 'iret', world: { ...world, machine: { ...world.machine, regs: machineRegs } }, frame: next } as HypercallResult;
    })
    // [PARA.CALL.4] console_write: the bytes go to the console port in one exit.
    .with(Hypercall.consoleWrite, () => {
      if (b > PAGE) return done(world, FAIL);
      const copy = readGuest(world.machine.memory, config, world.vmm.vcpu, a, b);
      if (copy.kind !== 'ok') return done(world, FAIL);
      let devices = world.machine.devices;
      const clock = clockAt(devices, world.machine.instructionCount);
      for (const byte of copy.value) devices = portWrite(devices, CONSOLE_PORT, 8, byte, clock);
      return done({ ...world, machine: { ...world.machine, memory: copy.memory, devices } }, b);
    })
    .otherwise(() => done(world, FAIL));
}
