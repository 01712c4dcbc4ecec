// Properties of the para-virtual interface (spec/para.md): the page-table
// invariants the validated mmu_update must keep, over random batches of
// requests that a hostile ring-1 guest could send, and the runs that compare
// a para guest with its native build.
import fc from 'fast-check';
import { readBytes } from '../../model/cpu/memory';
import { PDE_LARGE, PTE_PRESENT, PTE_WRITABLE } from '../../model/cpu/paging';
import { Frame, frameMachine, PAGE } from '../../model/vmm/config';
import { guestToMachine } from '../../model/vmm/guest-paging';
import { runWorld } from '../../model/vmm/run';
import { bootParaGuest } from '../../model/vmm/para/boot';
import { hypercall } from '../../model/vmm/para/hypercalls';
import { Hypercall, type ParaRules } from '../../model/vmm/para/interface';
import { writeGuest } from '../../model/vmm/guest-paging';
import type { World } from '../../model/vmm/state';
import type { TrapFrame } from '../../model/vmm/frame';

/** A para guest (the teaching kernel) run until its first process has an address space. */
export function bootedParaWorld(image: Uint8Array, rules?: ParaRules, steps = 9000): World {
  const b = bootParaGuest(image, undefined, undefined, rules);
  if (b.kind !== 'ok') throw new Error(b.message);
  return runWorld(b.world, steps).world;
}

/** [PARA.MMU.2] [PARA.MMU.3] [PARA.MMU.4] What must hold of every adopted table; null when it does. */
export function tableViolation(world: World): string | null {
  const { config } = world.vmm;
  const para = world.vmm.para!;
  const frames = Object.entries(para.tables).map(([f, level]) => [Number(f), level] as const);
  const known = new Set(frames.map(([f]) => f));
  for (const [frame, level] of frames) {
    const bytes = readBytes(world.machine.memory, guestToMachine(config, frame * PAGE), PAGE);
    const view = new DataView(bytes.buffer, bytes.byteOffset, PAGE);
    for (let i = 0; i < 1024; i++) {
      const e = view.getUint32(4 * i, true);
      if ((e & PTE_PRESENT) === 0) continue;
      const target = e >>> 12;
      // Under direct paging the monitor's own entry sits in the VMM slot of every directory (MEM.DIRECT.2).
      if (level === 2 && i === config.vmmBase >>> 22 && (e & 0xfffff000) >>> 0 === frameMachine(config, Frame.monitorTable)) continue;
      if ((target + 1) * PAGE > config.partitionSize) return `table 0x${frame.toString(16)}[${i}] names frame 0x${target.toString(16)} outside the partition`;
      if (level === 2 && i >= config.vmmBase >>> 22) return `directory 0x${frame.toString(16)} maps entry ${i}, at or above the VMM base`;
      if (level === 2 && (e & PDE_LARGE) !== 0) return `directory 0x${frame.toString(16)} maps a 4 MiB page`;
      if (level === 1 && (e & PTE_WRITABLE) !== 0 && known.has(target)) return `table 0x${frame.toString(16)}[${i}] maps table frame 0x${target.toString(16)} writable`;
    }
  }
  return null;
}

export interface Request { readonly ptr: number; readonly val: number }

/** Edge-biased requests: entries of the adopted tables or of fresh frames,
 * values naming table frames, frames at the partition's end or beyond,
 * writable or not, large pages, directory slots near the VMM base. */
export function requestArbitrary(world: World): fc.Arbitrary<Request> {
  const { config } = world.vmm;
  const tables = Object.keys(world.vmm.para!.tables).map(Number);
  const lastFrame = config.partitionSize / PAGE - 1;
  const frame = fc.oneof(fc.constantFrom(...tables), fc.constantFrom(lastFrame, lastFrame + 1, 0x300, 0x301, 0xfffff), fc.integer({ min: 0x200, max: 0x3ff }));
  const index = fc.oneof(fc.constantFrom(0, 1, 1023, (config.vmmBase >>> 22) - 1, config.vmmBase >>> 22), fc.integer({ min: 0, max: 1023 }));
  const ptr = fc.tuple(frame, index, fc.constantFrom(0, 1, 2)).map(([f, i, cmd]) => ((f * PAGE + 4 * i) | cmd) >>> 0);
  const flags = fc.constantFrom(0, PTE_PRESENT, PTE_PRESENT | PTE_WRITABLE, PTE_PRESENT | PTE_WRITABLE | 4, PTE_PRESENT | PDE_LARGE | PTE_WRITABLE);
  const val = fc.tuple(frame, flags).map(([f, fl]) => ((f * PAGE) | fl) >>> 0);
  return fc.record({ ptr, val });
}

/** Send one mmu_update batch as the guest kernel would: the requests are
 * written to a scratch area of its memory and EAX/EBX/ECX set. */
export function sendMmuUpdate(world: World, requests: readonly Request[]): World {
  const scratch = 0x00117000; // the kernel stack's lowest page, unused this early
  const bytes: number[] = [];
  for (const r of requests) for (const v of [r.ptr, r.val]) bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  const written = writeGuest(world.machine.memory, world.vmm.config, world.vmm.vcpu, scratch, bytes);
  if (written.kind !== 'ok') throw new Error('scratch area not writable');
  const regs = world.machine.regs.slice();
  regs[0] = Hypercall.mmuUpdate; regs[3] = scratch; regs[1] = requests.length;
  const w: World = { ...world, machine: { ...world.machine, memory: written.memory, regs } };
  const frame: TrapFrame = { errorCode: null, eip: 0, cs: 0x09, eflags: 0x202, esp: 0x00118000, ss: 0x11 };
  const r = hypercall(w, frame);
  if (r.kind !== 'return') throw new Error(`mmu_update: ${r.kind}`);
  return r.world;
}

/** [PARA.MMU.1] The property: no batch of requests breaks the table invariants. */
export function mmuProperty(world: World): fc.IProperty<[Request[]]> {
  return fc.property(fc.array(requestArbitrary(world), { minLength: 1, maxLength: 6 }), (requests) => {
    const after = sendMmuUpdate(world, requests);
    const v = tableViolation(after);
    if (v !== null) throw new Error(v);
  });
}
