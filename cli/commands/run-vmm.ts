// `mesovirt run IMAGE --vmm [--vmm-base ADDR]`: boot a Multiboot image as a
// guest of the monitor (model/vmm) at ring 1 and run it; run.ts hands over
// to `runUnderMonitor` when --vmm is given.
import { readFileSync } from 'node:fs';
import { bootGuest } from '../../model/vmm/boot';
import { runWorld, type WorldStep } from '../../model/vmm/run';
import { DEFAULT_CONFIG, validateConfig, type VmmConfig } from '../../model/vmm/config';
import type { World } from '../../model/vmm/state';
import { defaultRules, type VmmRules } from '../../model/vmm/rules';
import { consoleBytes } from '../../model/cpu/devices';
import { runOnImpl } from '../../properties/vmm/impl-host';

/** Process exit statuses for monitored runs that do not end through the exit port. */
export const VMM_STATUS = { halted: 3, shutdown: 4, modelError: 5, limit: 6, stopped: 7 } as const;

/** The monitor configuration for `--vmm-base` (hex or decimal), checked. */
export function monitorConfig(vmmBase: string | undefined): VmmConfig {
  if (vmmBase === undefined) return DEFAULT_CONFIG;
  const base = Number(vmmBase);
  if (!Number.isInteger(base) || base < 0 || base > 0xffffffff) throw new Error(`--vmm-base must be an address such as 0xFC000000, got '${vmmBase}'`);
  const config = { ...DEFAULT_CONFIG, vmmBase: base };
  const bad = validateConfig(config);
  if (bad !== null) throw new Error(`--vmm-base ${vmmBase}: ${bad}`);
  return config;
}

/** Boot `image` under the monitor, or throw a user error naming the file. */
export function bootImage(image: string, config: VmmConfig, rules: VmmRules = defaultRules): World {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(image));
  } catch (e) {
    throw new Error(`${image}: cannot read (${(e as Error).message})`);
  }
  const boot = bootGuest(bytes, config, rules);
  if (boot.kind !== 'ok') throw new Error(`${image}: ${boot.message}`);
  return boot.world;
}

/** The process status for how a monitored run ended. */
export function endStatus(end: string, world: World): number {
  if (end.startsWith('exit ')) return (world.machine.devices.exitCode ?? 1) & 0xff;
  if (end === 'halted for good') return VMM_STATUS.halted;
  if (end.startsWith('shutdown')) return VMM_STATUS.shutdown;
  if (end.startsWith('model error')) return VMM_STATUS.modelError;
  if (end.startsWith('stopped')) return VMM_STATUS.stopped;
  return VMM_STATUS.limit;
}

/** Exits by reason, most frequent first, as aligned lines. */
export function exitTable(world: World): string[] {
  const rows = Object.entries(world.vmm.exits).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const width = Math.max(6, ...rows.map(([k]) => k.length));
  return rows.map(([k, n]) => `  ${k.padEnd(width)}  ${n}`);
}

export function runUnderMonitor(image: string, opts: { maxInstructions: number; vmmBase?: string; machine?: string }): void {
  const config = monitorConfig(opts.vmmBase);
  const world = bootImage(image, config);
  if (opts.machine === 'impl') return runUnderMonitorOnImpl(image, opts.maxInstructions, config);
  if (opts.machine !== undefined && opts.machine !== 'model') throw new Error(`--machine must be 'model' or 'impl', got '${opts.machine}'`);
  let printed = 0;
  const flush = (w: World): void => {
    const out = consoleBytes(w.machine.devices.console);
    if (out.length > printed) {
      process.stdout.write(out.subarray(printed));
      printed = out.length;
    }
  };
  let n = 0;
  const r = runWorld(world, opts.maxInstructions, (_b, after: World, _s: WorldStep) => {
    if ((++n & 0xfff) === 0) flush(after);
  });
  flush(r.world);
  const status = endStatus(r.end, r.world);
  if (!r.end.startsWith('exit ')) process.stderr.write(`mesovirt: the guest's run ended: ${r.end} (after ${r.steps} steps)\n`);
  process.stderr.write(`mesovirt: ${r.steps} steps under the monitor on the model (VMM base 0x${config.vmmBase.toString(16)}); exits by reason:\n${exitTable(r.world).join('\n')}\n`);
  process.exitCode = status;
}

/** The same run with impl as the processor (properties/vmm/impl-host.ts); the console is printed at the end. */
function runUnderMonitorOnImpl(image: string, maxSteps: number, config: VmmConfig): void {
  const r = runOnImpl(new Uint8Array(readFileSync(image)), maxSteps, defaultRules, config);
  process.stdout.write(r.console);
  const world = { vmm: r.vmm } as World;
  if (!r.end.startsWith('exit ')) process.stderr.write(`mesovirt: the guest's run ended: ${r.end} (after ${r.steps} steps)\n`);
  process.stderr.write(`mesovirt: ${r.steps} steps under the monitor on impl (VMM base 0x${config.vmmBase.toString(16)}); exits by reason:\n${exitTable(world).join('\n')}\n`);
  process.exitCode = r.end.startsWith('exit ') ? Number(r.end.slice(5)) & 0xff : endStatus(r.end, world);
}
