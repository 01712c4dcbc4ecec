// [VMM.REFINE] gandalf and model/vmm are indistinguishable to the guest, and
// gandalf's real state keeps VMM.ISO, VMM.SEG, VMM.RING and VMM.RES, over
// the default guests (properties/gandalf/guests.ts).
import { describe, expect, it } from 'vitest';
import { checkRefinement } from '../../properties/gandalf/refine';
import { auditGandalf } from '../../properties/gandalf/audit';
import { HOSTILE_SEEDS, PAGED_SEEDS, hostileAt, pagedAt, recursiveGuest, rtos, spacesGuest, teachMeso, tourGuest } from '../../properties/gandalf/guests';
import { checkRealResources, checkRealTables, worldView } from '../../properties/gandalf/invariants';
import { bootGuest } from '../../model/vmm/boot';
import { stepWorld } from '../../model/vmm/run';
import type { World } from '../../model/vmm/state';
import { toCommon } from '../../model/cpu/state';
import { defaultRules } from '../../model/vmm/rules';
import { DEFAULT_CONFIG } from '../../model/vmm/config';
import { MUTANTS } from '../../properties/vmm/mutants';
import { lockstep } from '../../properties/diff/lockstep';
import { bootGandalf } from '../../properties/gandalf/build';
import { runToEnd } from '../../properties/machines';
import { assembleSource } from '../../properties/assemble-file';

/** A ring-1 guest on the boot segments: its timer's gate (vector 0x20,
 * through the boot code segment, so no direct gate: every tick is an exit)
 * counts ticks; it halts three times with interrupts on, then prints. */
function haltingGuest(): Uint8Array {
  const source = `bits 32
org 0x100000
    dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000), 0x100000, 0x100000, image_end, 0, start
start:
    mov esp, 0x90000
    lidt [idt_pointer]
    mov al, 0x11
    out 0x20, al
    mov al, 0x20
    out 0x21, al
    mov al, 4
    out 0x21, al
    mov al, 1
    out 0x21, al
    mov al, 0xFE
    out 0x21, al
    mov al, 0x34
    out 0x43, al
    mov al, 0
    out 0x40, al
    mov al, 0x40
    out 0x40, al
    mov esi, zzz
    call print
.wait:
    sti
    hlt
    cmp dword [ticks], 3
    jb .wait
    cli
    mov esi, woke
    call print
    mov al, '3'
    out 0xE9, al
    mov esi, times
    call print
    mov al, 0
    out 0xF4, al
print:
    lodsb
    test al, al
    jz .done
    out 0xE9, al
    jmp print
.done:
    ret
tick:
    inc dword [ticks]
    push eax
    mov al, 0x20
    out 0x20, al
    pop eax
    iret
ticks: dd 0
zzz: db "zzz", 10, 0
woke: db "woke ", 0
times: db " times", 10, 0
idt_pointer: dw 0x21 * 8 - 1
    dd idt
align 8
idt:
    times 0x20 dq 0
    dw tick - 0x100000 + 0x0000, 0xFE1, 0x8E00, 0x0010
image_end:
`;
  return assembleSource('h.asm', source);
}

describe('[VMM.REFINE] [GANDALF.SEGREGS.1] [GANDALF.STI.1] [GANDALF.DECODE.1] gandalf refines model/vmm at every guest instruction', () => {
  it('the teaching kernel: every unit compared, no divergence, both end through the exit port', () => {
    const r = checkRefinement(teachMeso());
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
    expect(r.guestSteps).toBeGreaterThan(50_000);
    expect(r.exits).toBeGreaterThan(600);
    expect(r.console.endsWith('[kernel] all processes exited\n')).toBe(true);
  }, 60_000);

  it('the RTOS guest, with its own 4000-instruction tick: the interrupts arrive where gandalf\'s timer puts them', () => {
    const r = checkRefinement(rtos({ MESO: '' }));
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
    expect(r.console.endsWith('[rtos] done\n')).toBe(true);
  }, 60_000);

  it.each([1, 3] as const)('the tour guest at ring %i: each kind of exit (LLDT, LMSW, CLTS, INT n, reflected faults, refused ports, RDMSR, ...)', (ring) => {
    const r = checkRefinement(tourGuest(ring), { maxUnits: 5000 });
    expect(r.divergence).toBeNull();
    const kinds = Object.keys(r.exitsByReason);
    expect(kinds).toContain('reflect 13');
    expect(kinds.some((k) => k.startsWith('INT '))).toBe(true);
    if (ring === 1) for (const k of ['emulate lldt', 'emulate lmsw', 'emulate clts', 'emulate invlpg', 'emulate in', 'emulate (other)']) expect(kinds).toContain(k);
  }, 30_000);

  it.each(HOSTILE_SEEDS)('hostile guest of seed %i', (seed) => {
    const r = checkRefinement(hostileAt(seed), { maxUnits: 3000 });
    expect(r.divergence).toBeNull();
    expect(r.exits).toBeGreaterThan(3);
  }, 30_000);

  it.each(PAGED_SEEDS)('paged guest of seed %i, to its end', (seed) => {
    const r = checkRefinement(pagedAt(seed), { maxUnits: 20_000 });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
  }, 30_000);

  it('[GANDALF.HLT.1] a guest that waits with HLT for its timer: woken past its HLT, as under model/vmm', () => {
    const r = checkRefinement(haltingGuest());
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
    expect(r.console).toBe('zzz\nwoke 3 times\n');
    expect(r.exitsByReason['emulate hlt']).toBeGreaterThanOrEqual(3);
    expect(r.exitsByReason['interrupt 32']).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('the checker is not blind: a model/vmm mutant run against the correct gandalf diverges', () => {
    const mutant = MUTANTS.find((m) => m.name === 'CR2 not virtualized on a reflected #PF')!;
    const r = checkRefinement(teachMeso(), { rules: mutant.rules, maxUnits: 20_000 });
    expect(r.divergence?.differences.join(' ')).toContain('virtual cr2');
  }, 30_000);
});

/** The guests every memory mode is checked on: the teaching kernel and the
 * RTOS to their ends, two paged guests and a hostile one. */
function guestsRefine(mode: 'shadow-multi' | 'direct'): void {
  it('the teaching kernel to its end', () => {
    const r = checkRefinement(teachMeso(), { mode });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
    expect(r.console.endsWith('[kernel] all processes exited\n')).toBe(true);
  }, 60_000);

  it('the RTOS guest to its end', () => {
    const r = checkRefinement(rtos({ MESO: '' }), { mode });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
  }, 30_000);

  // (two of the four paged seeds here; the mutant runs use all four, properties/gandalf/property.ts)
  it.each([19, 21] as const)('paged guest of seed %i, to its end', (seed) => {
    const r = checkRefinement(pagedAt(seed), { mode, maxUnits: 20_000 });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
  }, 30_000);

  it.each([5] as const)('hostile guest of seed %i', (seed) => {
    const r = checkRefinement(hostileAt(seed), { mode, maxUnits: 3000 });
    expect(r.divergence).toBeNull();
  }, 30_000);
}

describe('[VMM.REFINE] [MEM.MULTI.1] [MEM.MULTI.2] [MEM.MULTI.3] [MEM.MULTI.4] [MEM.MULTI.5] [MEM.MULTI.7] [GANDALF.MULTI.1] gandalf built with -DMEMORY_MULTI refines model/vmm in shadow-multi', () => {
  const mode = 'shadow-multi' as const;
  it('two address spaces, a remap and switches: the transcript worked by hand, every unit compared', () => {
    const r = checkRefinement(spacesGuest(), { mode });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
    expect(r.console).toBe('ABCDDCBAAFDF');
  }, 30_000);

  it('the build is really another mode: the same guest under gandalf-multi against model/vmm in shadow-single diverges', () => {
    const r = checkRefinement(spacesGuest(), { defines: { MEMORY_MULTI: '' } });
    expect(r.divergence).not.toBeNull();
  }, 30_000);

  guestsRefine(mode);

  it('VMM.ISO/SEG/RING/RES on the real state: the teaching kernel to its end', () => {
    const defines = { MEMORY_MULTI: '' };
    const t = auditGandalf([teachMeso()], { defines });
    expect(t.violation).toBeNull();
    expect(t.end).toBe('exit 1');
  }, 60_000);
});

describe('[VMM.REFINE] [MEM.DIRECT.1] [MEM.DIRECT.2] [MEM.DIRECT.3] [MEM.DIRECT.4] [MEM.DIRECT.5] [MEM.RES.1] [GANDALF.DIRECT.1] [GANDALF.DIRECT.2] gandalf built with -DMEMORY_DIRECT refines model/vmm in direct mode', () => {
  const mode = 'direct' as const;
  const defines = { MEMORY_DIRECT: '' };
  it('two address spaces, a remap and switches: the transcript worked by hand; the remap is a write to a page-table page, emulated', () => {
    const r = checkRefinement(spacesGuest(), { mode });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 1');
    expect(r.console).toBe('ABCDDCBAAFDF');
    // [MEM.DIRECT.3] The guest's identity table (guest-physical 0x112000) maps its
    // page-table pages 0x110000..0x114000 read-only now, the rest as the guest wrote them (R/W).
    const real = bootGandalf([spacesGuest()], { defines });
    runToEnd(real, 2_000_000);
    const table = real.readPhysical(0x112000, 4096);
    const pte = (page: number): number => new DataView(table.buffer, table.byteOffset).getUint32(4 * page, true);
    for (const page of [0x110, 0x111, 0x112, 0x113, 0x114]) expect(pte(page) & 3, `page 0x${page.toString(16)}`).toBe(1);
    for (const page of [0x100, 0x120, 0x125]) expect(pte(page) & 3, `page 0x${page.toString(16)}`).toBe(3);
  }, 30_000);

  it('the build is really another mode: gandalf-direct against model/vmm in shadow-single diverges', () => {
    expect(checkRefinement(spacesGuest(), { defines }).divergence).not.toBeNull();
  }, 30_000);

  it('a directory that names itself as a page table is refused and the guest stopped, under both monitors', () => {
    const r = checkRefinement(recursiveGuest(), { mode, maxUnits: 20_000 });
    expect(r.divergence).toBeNull();
    expect(r.end).toBe('exit 255');
    expect(r.console).toContain('[gandalf] stopped: direct paging: a directory entry names the directory itself as a page table\n');
  }, 30_000);

  guestsRefine(mode);

  it('VMM.ISO/SEG/RING and MEM.RES.1 on the real state: the teaching kernel to its end', () => {
    const t = auditGandalf([teachMeso()], { defines });
    expect(t.violation).toBeNull();
    expect(t.end).toBe('exit 1');
  }, 60_000);
});

describe('[VMM.ISO] [VMM.SEG] [VMM.RING] [VMM.RES] on gandalf\'s real state', () => {
  it('the teaching kernel runs to its end with no violation', () => {
    const r = auditGandalf([teachMeso()]);
    expect(r.violation).toBeNull();
    expect(r.end).toBe('exit 1');
    expect(r.exits).toBeGreaterThan(600);
  }, 60_000);

  it.each(HOSTILE_SEEDS)('hostile guest of seed %i', (seed) => {
    const r = auditGandalf([hostileAt(seed)], { maxSteps: 400_000 });
    expect(r.violation).toBeNull();
  }, 30_000);

  it('the same checker reads model/vmm\'s real tables out of its memory: no violation after any exit of the teaching kernel', () => {
    const boot = bootGuest(teachMeso(), DEFAULT_CONFIG, defaultRules);
    if (boot.kind !== 'ok') throw new Error(boot.message);
    let world: World = boot.world;
    const view = worldView(() => world);
    const bounds = { vmmBase: DEFAULT_CONFIG.vmmBase, partitionBase: DEFAULT_CONFIG.partitionBase, partitionSize: DEFAULT_CONFIG.partitionSize };
    const first = toCommon(world.machine);
    let monitorSteps = 0;
    for (let n = 0; n < 200_000; n++) {
      const r = stepWorld(world);
      world = r.world;
      if (r.step.kind === 'end') break;
      if (r.step.kind !== 'monitor') continue;
      monitorSteps++;
      expect(checkRealTables(view, bounds)).toBeNull();
      expect(checkRealResources(view, bounds, first)).toBeNull();
    }
    expect(monitorSteps).toBeGreaterThan(600);
  }, 60_000);
});

describe('[DIFF.STATE.1] gandalf\'s own code runs the same on the model and on impl', () => {
  it('lock step over gandalf\'s boot and the teaching kernel\'s first exits (50,000 steps, every state compared)', () => {
    const image = teachMeso();
    const r = lockstep(bootGandalf([image], { machine: 'model' }), bootGandalf([image], { machine: 'impl' }), 50_000, { throughHalt: true });
    expect(r.divergence).toBeNull();
    expect(r.steps).toBe(50_000);
  }, 60_000);

  it('lock step over the shadow-multi build (the teaching kernel, 60,000 steps) and the direct build (the two-space guest, 100,000 steps: its boot, paging on and the first validations of its tables)', () => {
    for (const [defines, image, n] of [[{ MEMORY_MULTI: '' }, teachMeso(), 60_000], [{ MEMORY_DIRECT: '' }, spacesGuest(), 100_000]] as const) {
      const r = lockstep(bootGandalf([image], { machine: 'model', defines }), bootGandalf([image], { machine: 'impl', defines }), n, { throughHalt: true });
      expect(r.divergence, JSON.stringify(defines)).toBeNull();
      expect(r.steps).toBe(n);
    }
  }, 60_000);
});
