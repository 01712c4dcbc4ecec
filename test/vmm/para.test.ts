// The para-virtual interface (spec/para.md) on the teaching kernel: the para
// build under the monitor prints what the native build prints on the bare
// machine; the mmu_update validation keeps its invariants over random
// batches; the hypercall gate refuses ring 3; the two mutants are killed.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildTeach } from '../../bench/guests-run';
import { observeNative } from '../../properties/vmm/equivalence';
import { bootParaGuest } from '../../model/vmm/para/boot';
import { runWorld } from '../../model/vmm/run';
import { bootedParaWorld, mmuProperty, sendMmuUpdate, tableViolation } from '../../properties/vmm/para';
import { propertyParams } from '../../properties/seed';
import { HYPERCALL_VECTOR, Shared } from '../../model/vmm/para/interface';
import { guestToMachine } from '../../model/vmm/guest-paging';
import { readPhysical } from '../../model/cpu/memory';
import { Frame, frameMachine } from '../../model/vmm/config';
import type { World } from '../../model/vmm/state';
import { applyRequest } from '../../model/vmm/para/mmu';
import { configFor } from '../../model/vmm/memory/boot';
import { emptyTlb } from '../../model/cpu/tlb';

const STEPS = 2_000_000;

function runPara(image: Uint8Array, rules?: Parameters<typeof bootParaGuest>[3]) {
  const b = bootParaGuest(image, undefined, undefined, rules);
  if (b.kind !== 'ok') throw new Error(b.message);
  return runWorld(b.world, STEPS);
}

describe('[VMM.EQ] [PARA.EXIT.1] the para teaching kernel under the monitor prints what the native one prints', () => {
  let native: ReturnType<typeof observeNative>;
  let para: ReturnType<typeof runPara>;
  beforeAll(() => {
    native = observeNative(buildTeach({}), STEPS, false);
    para = runPara(buildTeach({ PARA: '' }));
  }, 120_000);

  it('[PARA.BOOT.1] both end through the exit port with status 0', () => {
    expect(native.end).toBe('exit 1');
    expect(para.end).toBe('exit 1');
  });

  it('[PARA.IF.1] [PARA.IF.2] [PARA.IF.3] [PARA.IF.4] [PARA.PF.1] the console transcripts are identical (held timer ticks, page faults reflected with CR2 in the shared page)', () => {
    expect(para.console).toBe(native.console);
    expect(native.console).toContain('[kernel] pid 4 killed: page fault at 0x00100000 error 0x00000007\n');
    const exits = para.world.vmm.exits;
    expect(exits['page fault']).toBeGreaterThan(0);
    expect(exits['hypercall iret'] ?? 0).toBeGreaterThan(0);
  });

  it('[PARA.CALL.2] [PARA.CALL.3] [PARA.MMU.7] [PARA.SHARED.2] [PARA.CALL.4] the kernel used hypercalls, never LGDT/LIDT/LTR/MOV CR/CLI', () => {
    const exits = Object.keys(para.world.vmm.exits);
    for (const h of ['set_gdt', 'set_trap_table', 'stack_switch', 'new_baseptr', 'register_shared', 'mmu_update', 'console_write']) expect(exits).toContain(`hypercall ${h}`);
    expect(exits.filter((e) => e.startsWith('emulate') && e !== 'emulate out')).toEqual([]);
  });

  it('[PARA.SHARED.1] the shared page holds the last reflected page-fault address (the kernel printed the trespasser\'s from there)', () => {
    const w = para.world;
    const cr2 = readPhysical(w.machine.memory, guestToMachine(w.vmm.config, w.vmm.para!.shared! + Shared.cr2), 4);
    expect(cr2).toBe(w.vmm.vcpu.cr2);
    expect(cr2).toBeGreaterThanOrEqual(0x00400000); // a heap or stack page, faulted in last
    expect(para.console).toContain('page fault at 0x00100000');
  });

  it('[PARA.MMU.2] [PARA.MMU.3] [PARA.MMU.4] [PARA.MMU.5] every table the kernel built passes the invariants', () => {
    expect(Object.keys(para.world.vmm.para!.tables).length).toBe(10); // boot directory, kernel table, 4 x (directory, table)
    expect(tableViolation(para.world)).toBeNull();
    expect(para.world.vmm.para!.mmuRefused).toBe(0);
  });

  it('[PARA.TRAP.1] [PARA.TRAP.2] [PARA.CALL.1] the real IDT: int 0x80 a DPL-3 trap gate to ring 1, the timer through the monitor, 0x82 a DPL-1 gate', () => {
    const w = para.world;
    const gate = (v: number) => readPhysical(w.machine.memory, frameMachine(w.vmm.config, Frame.idt) + 8 * v + 4, 4);
    expect((gate(0x80) >>> 8) & 0xff).toBe(0xef); // present, DPL 3, 32-bit trap gate
    expect((gate(0x80) >>> 16) === 0).toBe(false); // the guest's handler (below 1 MiB + image)
    expect((gate(0x20) >>> 8) & 0xff).toBe(0x8e); // the monitor's own DPL-0 gate
    expect((gate(HYPERCALL_VECTOR) >>> 8) & 0xff).toBe(0xae); // present, DPL 1, interrupt gate
  });
});

describe('[PARA.BOOT.2] the para teaching kernel on direct paging (the validated tables are the real ones)', () => {
  it('[PARA.MMU.8] prints what the native one prints; the real CR3 is its own directory; the tables pass the invariants; few page faults', () => {
    const native = observeNative(buildTeach({}), STEPS, false);
    const b = bootParaGuest(buildTeach({ PARA: '' }), configFor('direct'), undefined, undefined, 'direct');
    if (b.kind !== 'ok') throw new Error(b.message);
    const r = runWorld(b.world, STEPS);
    expect(r.end).toBe('exit 1');
    expect(r.console).toBe(native.console);
    expect(r.world.machine.cr3).toBe(r.world.vmm.vcpu.cr3 & 0xfffff000);
    expect(tableViolation(r.world)).toBeNull();
    const single = runPara(buildTeach({ PARA: '' }));
    expect(r.world.vmm.exits['page fault']!).toBeLessThan(single.world.vmm.exits['page fault']! / 5);
  }, 120_000);
});

describe('[PARA.MMU.1] mmu_update validation over random batches', () => {
  let world: World;
  beforeAll(() => { world = bootedParaWorld(buildTeach({ PARA: '' })); }, 120_000);

  it('[PARA.MMU.0] [PARA.MMU.1] [PARA.MMU.5] no batch of edge-biased requests leaves a table that maps outside, above the VMM base, or a table writable', () => {
    expect(Object.keys(world.vmm.para!.tables).length).toBeGreaterThan(2);
    fc.assert(mmuProperty(world), propertyParams(300));
  });

  it('[PARA.MMU.2] [PARA.MMU.3] [PARA.MMU.4] each rule refuses its own case (and the batch stops there)', () => {
    const dir = Number(Object.entries(world.vmm.para!.tables).find(([, l]) => l === 2)![0]);
    const table = Number(Object.entries(world.vmm.para!.tables).find(([, l]) => l === 1)![0]);
    const cases: Array<[string, number, number]> = [
      ['frame outside the partition', table * 4096 + 4 * 5, (0x1000 * 4096) | 1],
      ['directory entry at the VMM base', (dir * 4096 + 4 * (0xfc000000 >>> 22)) | 1, (table * 4096) | 7],
      ['4 MiB page', (dir * 4096 + 4 * 8) | 1, 0x00400000 | 0x87],
      ['writable mapping of a table', table * 4096 + 4 * 6, (dir * 4096) | 3],
    ];
    for (const [what, ptr, val] of cases) {
      const after = sendMmuUpdate(world, [{ ptr, val }]);
      expect(after.vmm.para!.mmuRefused, what).toBe(world.vmm.para!.mmuRefused + 1);
      expect(after.vmm.para!.mmuApplied, what).toBe(world.vmm.para!.mmuApplied);
    }
    // The same table mapped read-only is accepted.
    const ok = sendMmuUpdate(world, [{ ptr: table * 4096 + 4 * 6, val: (dir * 4096) | 1 }]);
    expect(ok.vmm.para!.mmuApplied).toBe(world.vmm.para!.mmuApplied + 1);
  });

  it('[PARA.MMU.6] replacing a present entry asks for a flush; filling an empty one does not', () => {
    // A process's private table (the last adopted), entry 500: heap page 0x5F4000, never touched.
    const table = Math.max(...Object.entries(world.vmm.para!.tables).filter(([, l]) => l === 1).map(([f]) => Number(f)));
    const { memory } = world.machine;
    const fresh = applyRequest(memory, world.vmm.config, world.vmm.para!, { ptr: table * 4096 + 4 * 500, val: 0x00300001 });
    expect(fresh.kind === 'ok' && fresh.flush).toBe(false);
    if (fresh.kind !== 'ok') return;
    const replaced = applyRequest(fresh.memory, world.vmm.config, fresh.para, { ptr: table * 4096 + 4 * 500, val: 0x00301001 });
    expect(replaced.kind === 'ok' && replaced.flush).toBe(true);
    // and the hypercall then empties the TLB
    const after = sendMmuUpdate(sendMmuUpdate(world, [{ ptr: table * 4096 + 4 * 500, val: 0x00300001 }]), [{ ptr: table * 4096 + 4 * 500, val: 0x00301001 }]);
    expect(after.machine.tlb).toBe(emptyTlb);
    expect(after.vmm.shadow.tablesInUse).toBe(0);
  });
});

describe('mutants of the para interface are killed by the default run', () => {
  it('[PARA.MMU.1] an mmu_update that skips validation: the random-batch property finds a counterexample', () => {
    const world = bootedParaWorld(buildTeach({ PARA: '' }));
    const mutant: World = { ...world, vmm: { ...world.vmm, para: { ...world.vmm.para!, rules: { validateMmu: false, hypercallFromRing3: false } } } };
    expect(fc.check(mmuProperty(world), propertyParams(300)).failed).toBe(false);
    const r = fc.check(mmuProperty(mutant), propertyParams(300));
    expect(r.failed).toBe(true);
  }, 120_000);

  it('[PARA.CALL.5] a hypercall gate of DPL 3 (callable from ring 3): the probe transcript differs from native; with the specified gate it does not', () => {
    const native = observeNative(buildTeach({ LMBENCH: '7' }), STEPS, false);
    expect(native.console).toContain('[kernel] pid 1 killed: exception 0x0000000d\n');
    const image = buildTeach({ LMBENCH: '7', PARA: '' });
    expect(runPara(image).console).toBe(native.console);
    const mutant = runPara(image, { validateMmu: true, hypercallFromRing3: true });
    expect(mutant.console).not.toBe(native.console);
  }, 120_000);
});
