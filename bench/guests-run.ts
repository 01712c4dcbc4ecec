// Running one microbenchmark (guests/teach/lmbench) in one configuration and
// counting what happened inside its measured window: from the end of the
// kernel's boot message to the first byte of the benchmark's report.
import { join } from 'node:path';
import { step } from '../model/cpu/step';
import { initialState, type MachineState } from '../model/cpu/state';
import { writeBytes } from '../model/cpu/memory';
import { consoleBytes, type ConsoleLog } from '../model/cpu/devices';
import { emptyTlb } from '../model/cpu/tlb';
import { loadMultiboot } from '../model/boot/multiboot';
import { stepWorld } from '../model/vmm/run';
import { bootParaGuest, PARA_MEMORY_MODES, type ParaMemoryMode } from '../model/vmm/para/boot';
import { bootInMode, configFor } from '../model/vmm/memory/boot';
import { MEMORY_MODES, type MemoryModeName } from '../model/vmm/memory/types';
import type { World } from '../model/vmm/state';
import { DEFAULT_CONFIG } from '../model/vmm/config';
import type { Counts } from './guests-cost';
import { toCommon } from '../model/cpu/state';
import type { ImplMachine } from '../impl/machine';
import { implFor, stepOnImpl } from '../properties/vmm/impl-host';
import { assembleFile } from '../properties/assemble-file';

export const TEACH = join(import.meta.dirname, '..', 'guests', 'teach');

export const MICROBENCHMARKS = ['null', 'fault', 'ctxsw', 'proc', 'mmap', 'cpu'] as const;
export type Microbenchmark = (typeof MICROBENCHMARKS)[number];

export type Configuration =
  | { readonly kind: 'native' }
  | { readonly kind: 'meso'; readonly memory: MemoryModeName }
  | { readonly kind: 'para'; readonly memory: ParaMemoryMode };
export const configurationName = (c: Configuration): string => (c.kind === 'native' ? 'native' : `${c.kind}/${c.memory}`);
export const CONFIGURATIONS: readonly Configuration[] = [
  { kind: 'native' },
  ...MEMORY_MODES.map((memory) => ({ kind: 'meso', memory }) as const),
  ...PARA_MEMORY_MODES.map((memory) => ({ kind: 'para', memory }) as const),
];

export function buildTeach(defines: Record<string, string>): Uint8Array {
  return assembleFile(join(TEACH, 'teach.asm'), { format: 'bin', defines });
}

export function buildMicrobenchmark(bench: Microbenchmark, c: Configuration): Uint8Array {
  const LMBENCH = String(MICROBENCHMARKS.indexOf(bench) + 1);
  return buildTeach(c.kind === 'native' ? { LMBENCH } : c.kind === 'meso' ? { LMBENCH, MESO: '' } : { LMBENCH, PARA: '' });
}

export interface RunCounts extends Counts {
  readonly console: string;
  readonly end: string;
  readonly wallMs: number;
  /** The report line the guest printed: iterations and checksum (hex). */
  readonly report: { readonly iterations: number; readonly checksum: number } | null;
}

const REPORT = /\[bench (\w+)\]\s+([0-9a-f]{8}) iterations done; checksum ([0-9a-f]{8})/;

export function parseReport(console: string): RunCounts['report'] {
  const m = REPORT.exec(console);
  return m === null ? null : { iterations: parseInt(m[2]!, 16), checksum: parseInt(m[3]!, 16) };
}

/** A meter over console writes: the window opens after the first newline
 * (the boot message) and closes at the next byte written. */
class Window {
  private newlines = 0;
  state: 'before' | 'open' | 'closed' = 'before';
  observe(before: ConsoleLog, after: ConsoleLog): void {
    if (before === after || after === null || this.state === 'closed') return;
    if (this.state === 'open') { this.state = 'closed'; return; }
    if (after.byte === 10 && ++this.newlines === 1) this.state = 'open';
  }
}

const MAX_STEPS = 3_000_000;

function nativeMachine(image: Uint8Array): MachineState {
  const memorySize = DEFAULT_CONFIG.partitionSize;
  const loaded = loadMultiboot(image, memorySize);
  if (loaded.kind === 'error') throw new Error(loaded.message);
  let s = initialState(memorySize);
  for (const w of loaded.writes) s = { ...s, memory: writeBytes(s.memory, w.address, w.bytes) };
  const e = loaded.entry;
  return {
    ...s, eip: e.eip, eflags: e.eflags, regs: [e.regs.eax, e.regs.ecx, e.regs.edx, e.regs.ebx, e.regs.esp, e.regs.ebp, e.regs.esi, e.regs.edi],
    segments: e.segments, cr0: e.cr0, cr3: e.cr3, cr4: e.cr4, gdtr: e.gdtr, idtr: e.idtr, ldtr: e.ldtr, tr: e.tr,
  };
}

/** The bare model: every event is delivered by the processor to the kernel. */
function runNative(image: Uint8Array): Omit<RunCounts, 'wallMs' | 'report'> {
  let s = nativeMachine(image);
  const w = new Window();
  let guestInstructions = 0, directEvents = 0, tlbFlushes = 0, end = 'step limit';
  for (let n = 0; n < MAX_STEPS; n++) {
    const r = step(s);
    w.observe(s.devices.console, r.state.devices.console);
    if (w.state === 'open') {
      if (r.event.kind === 'retired') guestInstructions++;
      if (r.event.kind === 'exception' || r.event.kind === 'interrupt') directEvents++;
      if (r.state.tlb === emptyTlb && s.tlb !== emptyTlb) tlbFlushes++;
    }
    const wasHalted = s.halted;
    s = r.state;
    if (r.event.kind === 'exit') { end = `exit ${r.event.code}`; break; }
    if (r.event.kind === 'shutdown' || r.event.kind === 'model-error' || (r.event.kind === 'halted' && wasHalted)) { end = r.event.kind; break; }
  }
  return { console: decode(s.devices.console), end, guestInstructions, directEvents, exits: {}, mmuRequests: 0, tlbFlushes };
}

/** Under the monitor: guest steps, exits by reason, the monitor's IRETs. */
function runMonitored(world0: World): Omit<RunCounts, 'wallMs' | 'report'> {
  let world = world0;
  const w = new Window();
  let guestInstructions = 0, directEvents = 0, tlbFlushes = 0, end = 'step limit';
  let exitsAtOpen: Record<string, number> = {}, exitsAtClose: Record<string, number> | null = null;
  let mmuAtOpen = 0, mmuAtClose: number | null = null;
  for (let n = 0; n < MAX_STEPS; n++) {
    const r = stepWorld(world);
    const was = w.state;
    w.observe(world.machine.devices.console, r.world.machine.devices.console);
    if (was === 'before' && w.state === 'open') { exitsAtOpen = { ...r.world.vmm.exits }; mmuAtOpen = r.world.vmm.para?.mmuApplied ?? 0; }
    if (was === 'open' && w.state === 'closed') { exitsAtClose = { ...world.vmm.exits }; mmuAtClose = world.vmm.para?.mmuApplied ?? 0; }
    if (w.state === 'open') {
      if (r.step.kind === 'guest' && r.step.event.kind === 'retired') guestInstructions++;
      if (r.step.kind === 'guest' && (r.step.event.kind === 'exception' || r.step.event.kind === 'interrupt')) directEvents++;
      if (r.world.machine.tlb === emptyTlb && world.machine.tlb !== emptyTlb) tlbFlushes++;
    }
    world = r.world;
    if (r.step.kind === 'end') { end = r.step.reason; break; }
  }
  const close = exitsAtClose ?? world.vmm.exits;
  const exits: Record<string, number> = {};
  for (const [k, v] of Object.entries(close)) if (v - (exitsAtOpen[k] ?? 0) > 0) exits[k] = v - (exitsAtOpen[k] ?? 0);
  const mmuRequests = (mmuAtClose ?? world.vmm.para?.mmuApplied ?? 0) - mmuAtOpen;
  return { console: decode(world.machine.devices.console), end, guestInstructions, directEvents, exits, mmuRequests, tlbFlushes };
}

const decode = (log: ConsoleLog): string => new TextDecoder('latin1').decode(consoleBytes(log));

/** A meter over impl's console: the same window, from the console's length before and after a step. */
class ImplWindow {
  private readonly window = new Window();
  private printed = 0;
  get state(): Window['state'] { return this.window.state; }
  observe(console: readonly number[]): void {
    if (console.length === this.printed) return;
    this.printed = console.length;
    // As Window sees the model's log: the last byte the step wrote (a console hypercall writes several).
    this.window.observe(null, { byte: console[console.length - 1]!, previous: null });
  }
}

/** A TLB flush on impl: the TLB held entries before the step and none after. */
const tlbEmptied = (impl: ImplMachine, filledBefore: number): boolean => filledBefore > 0 && impl.cpu.tlbFilledCount === 0;

/** The bare machine on impl, counted as runNative counts on the model. */
function runNativeOnImpl(image: Uint8Array): Omit<RunCounts, 'wallMs' | 'report'> {
  const s = nativeMachine(image);
  const { impl } = implFor(s.memory, s.memory.size);
  impl.setState(toCommon(s));
  const w = new ImplWindow();
  let guestInstructions = 0, directEvents = 0, tlbFlushes = 0, end = 'step limit';
  for (let n = 0; n < MAX_STEPS; n++) {
    const filled = impl.cpu.tlbFilledCount, wasHalted = impl.cpu.halted;
    const e = impl.step();
    w.observe(impl.cpu.devices.console);
    if (w.state === 'open') {
      if (e.kind === 'retired') guestInstructions++;
      if (e.kind === 'exception' || e.kind === 'interrupt') directEvents++;
      if (tlbEmptied(impl, filled)) tlbFlushes++;
    }
    if (e.kind === 'exit') { end = `exit ${e.code}`; break; }
    if (e.kind === 'shutdown' || e.kind === 'model-error' || (e.kind === 'halted' && wasHalted)) { end = e.kind; break; }
  }
  return { console: Buffer.from(impl.consoleOutput()).toString('latin1'), end, guestInstructions, directEvents, exits: {}, mmuRequests: 0, tlbFlushes };
}

/** Under the monitor with impl as the processor (properties/vmm/impl-host.ts), counted as runMonitored counts. */
function runMonitoredOnImpl(world0: World): Omit<RunCounts, 'wallMs' | 'report'> {
  const { impl, view } = implFor(world0.machine.memory, world0.machine.memory.size);
  impl.setState(toCommon(world0.machine));
  let vmm = world0.vmm;
  const w = new ImplWindow();
  let guestInstructions = 0, directEvents = 0, tlbFlushes = 0, end = 'step limit';
  let exitsAtOpen: Record<string, number> = {}, exitsAtClose: Record<string, number> | null = null;
  let mmuAtOpen = 0, mmuAtClose: number | null = null;
  for (let n = 0; n < MAX_STEPS; n++) {
    const filled = impl.cpu.tlbFilledCount;
    const previous = vmm;
    const r = stepOnImpl(impl, view, vmm);
    vmm = r.vmm;
    const was = w.state;
    w.observe(impl.cpu.devices.console);
    if (was === 'before' && w.state === 'open') { exitsAtOpen = { ...vmm.exits }; mmuAtOpen = vmm.para?.mmuApplied ?? 0; }
    if (was === 'open' && w.state === 'closed') { exitsAtClose = { ...previous.exits }; mmuAtClose = previous.para?.mmuApplied ?? 0; }
    if (w.state === 'open') {
      if (r.step.kind === 'guest' && r.step.event.kind === 'retired') guestInstructions++;
      if (r.step.kind === 'guest' && (r.step.event.kind === 'exception' || r.step.event.kind === 'interrupt')) directEvents++;
      if (tlbEmptied(impl, filled)) tlbFlushes++;
    }
    if (r.step.kind === 'end') { end = r.step.reason; break; }
  }
  const close = exitsAtClose ?? vmm.exits;
  const exits: Record<string, number> = {};
  for (const [k, v] of Object.entries(close)) if (v - (exitsAtOpen[k] ?? 0) > 0) exits[k] = v - (exitsAtOpen[k] ?? 0);
  const mmuRequests = (mmuAtClose ?? vmm.para?.mmuApplied ?? 0) - mmuAtOpen;
  return { console: Buffer.from(impl.consoleOutput()).toString('latin1'), end, guestInstructions, directEvents, exits, mmuRequests, tlbFlushes };
}

/** Run one microbenchmark in one configuration, on the model or (the monitor hosted on it) impl. */
export function runMicrobenchmark(bench: Microbenchmark, c: Configuration, machine: 'model' | 'impl' = 'model'): RunCounts {
  const image = buildMicrobenchmark(bench, c);
  const t = performance.now();
  let counts: Omit<RunCounts, 'wallMs' | 'report'>;
  if (c.kind === 'native') counts = machine === 'impl' ? runNativeOnImpl(image) : runNative(image);
  else {
    const b = c.kind === 'para' ? bootParaGuest(image, configFor(c.memory), undefined, undefined, c.memory) : bootInMode(image, c.memory);
    if (b.kind !== 'ok') throw new Error(`${bench} ${configurationName(c)}: ${b.message}`);
    counts = machine === 'impl' ? runMonitoredOnImpl(b.world) : runMonitored(b.world);
  }
  return { ...counts, wallMs: performance.now() - t, report: parseReport(counts.console) };
}
