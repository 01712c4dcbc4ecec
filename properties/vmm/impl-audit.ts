// The monitor's invariants (invariants.ts) checked after every step of a
// guest running on impl under the model's monitor (impl-host.ts), for
// `mesovirt audit --machine impl`. VMM.RING, VMM.SEG, VMM.RES and the
// VMM.ISO check of the linear addresses a CPL > 0 instruction touched run
// on a model view of impl's state after each step (the view's memory is
// impl's RAM, live). The VMM.ISO check of the monitor's frames cannot
// compare persistent pages by identity on impl; instead every monitor
// frame is marked as holding code, so impl reports every write to it
// (memory.onCodeWrite), and a write during a guest step that changes a
// byte (beyond the accessed and dirty bits of paging entries, the
// processor's own) is the violation. One limit: the instruction of a step
// is decoded, for the address check, after the step ran, so an instruction
// that overwrote itself is read in its new form.
import { fromCommon, initialState, type MachineState } from '../../model/cpu/state';
import { initialDevices } from '../../model/cpu/devices';
import { Frame, frameMachine, MONITOR_FRAMES } from '../../model/vmm/config';
import type { World } from '../../model/vmm/state';
import type { WorldStep } from '../../model/vmm/run';
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import { checkReads, checkResources, checkRing, checkSegments, type Violation } from './invariants';
import { runOnImpl, type ImplRun } from './impl-host';
import type { ImplMachine } from '../../impl/machine';

const BLANK: MachineState = { ...initialState(0), devices: initialDevices };

export interface ImplAudit {
  readonly run: ImplRun;
  readonly checked: number;
  readonly violation: { readonly step: number; readonly v: Violation; readonly before: World } | null;
}

/** The checks, by name (all by default; a test may run one alone to see that it catches what it must). */
export type ImplCheck = 'ring' | 'segments' | 'frames' | 'addresses' | 'resources';
const ALL_CHECKS: ReadonlySet<ImplCheck> = new Set(['ring', 'segments', 'frames', 'addresses', 'resources']);

/** Run the booted world `boot` on impl and check the invariants after every step, stopping at the first violation. */
export function auditOnImpl(boot: World, image: Uint8Array, maxSteps: number, rules: VmmRules = defaultRules, checks: ReadonlySet<ImplCheck> = ALL_CHECKS): ImplAudit {
  const config = boot.vmm.config;
  const first = frameMachine(config, 0) >>> 12;
  let watcher: { copy: Uint8Array; writes: Array<[number, number]> } | null = null;
  let violation: ImplAudit['violation'] = null;
  let checked = 0;
  let before: World = boot;
  let view: World['machine']['memory'] | null = null;
  const watch = (m: ImplMachine): void => {
    const memory = m.cpu.memory;
    const copy = memory.bytes.slice(first << 12, (first + MONITOR_FRAMES) << 12);
    const writes: Array<[number, number]> = [];
    const original = memory.onCodeWrite;
    memory.onCodeWrite = (address, length) => {
      original(address, length);
      const frame = address >>> 12;
      if (frame >= first && frame < first + MONITOR_FRAMES) {
        writes.push([address, length]);
        memory.codePages[frame] = 1;
      }
    };
    memory.codePages.fill(1, first, first + MONITOR_FRAMES);
    watcher = { copy, writes };
  };
  /** [VMM.ISO] The monitor frames a guest step wrote, compared with what they held. */
  const frameWrites = (m: ImplMachine, guest: boolean): Violation | null => {
    const w = watcher!;
    const bytes = m.cpu.memory.bytes;
    let found: Violation | null = null;
    for (const [address, length] of w.writes) {
      for (let a = address; a < address + length; a++) {
        const i = a - (first << 12), f = i >>> 12, offset = i & 0xfff;
        const paging = f === Frame.shadowDirectory || f === Frame.monitorTable || f >= Frame.shadowPool;
        const mask = paging && offset % 4 === 0 ? 0x9f : 0xff;
        if (guest && found === null && (bytes[a]! & mask) !== (w.copy[i]! & mask)) found = { rule: 'VMM.ISO', message: `a guest step changed VMM frame ${f} at byte ${offset}` };
        w.copy[i] = bytes[a]!;
      }
    }
    w.writes.length = 0;
    return found;
  };
  const run = runOnImpl(image, maxSteps, rules, config, boot, (m, vmm, step) => {
    const after: World = { machine: fromCommon({ ...BLANK, memory: view! }, m.state()), vmm };
    const s = step as WorldStep;
    const exit = s.kind === 'exit';
    checked++;
    const frames = frameWrites(m, s.kind === 'guest');
    const v = (checks.has('ring') ? checkRing(after) : null) ?? (checks.has('segments') ? checkSegments(after, exit) : null)
      ?? (checks.has('frames') ? frames : null) ?? (checks.has('addresses') ? checkReads(before, after, s) : null)
      ?? (checks.has('resources') ? checkResources(boot, after, exit) : null);
    if (v !== null) { violation = { step: checked, v, before }; return true; }
    before = after;
    return false;
  }, (m, v) => { view = v; watch(m); before = { ...boot, machine: { ...boot.machine, memory: v } }; });
  return { run, checked, violation };
}
