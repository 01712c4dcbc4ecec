// `mesovirt run --vmm --guest A --guest B [--memory MODE]`: several guests
// under one monitor (spec/memory.md, MEM.GUESTS), in one memory mode. Each
// guest's console is its own stream, printed with its name as a prefix.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { bootGuests, runGuests, type GuestSpec } from '../../model/vmm/guests/world';
import { parseMemoryMode } from '../../model/vmm/memory/boot';
import type { MemoryModeName } from '../../model/vmm/memory/types';
import { runGuestsOnImpl, type ImplGuestsRun } from '../../properties/vmm/impl-guests';

/** What the summary below reads from a run on impl, in the model run's shape. */
const summaryOnImpl = (r: ImplGuestsRun) => ({
  steps: r.steps, consoles: r.consoles,
  world: { switches: r.world.switches, guests: r.world.guests.map((g) => ({ name: g.name, end: g.end, steps: g.steps, vmm: g.vmm })) },
});

/** Is this --memory value a memory mode (rather than a RAM size in MiB)? */
export const isMemoryMode = (text: string | undefined): boolean => text !== undefined && Number.isNaN(Number(text));

export function runGuestsCommand(image: string | undefined, guests: readonly string[], opts: { memory?: string; maxInstructions: number; machine?: string }): void {
  const machine = opts.machine ?? 'impl';
  if (machine !== 'model' && machine !== 'impl') throw new Error(`--machine must be 'model' or 'impl', got '${machine}'`);
  const files = [...(image === undefined ? [] : [image]), ...guests];
  if (files.length === 0) throw new Error('run --vmm needs an image or at least one --guest');
  const mode: MemoryModeName = isMemoryMode(opts.memory) ? parseMemoryMode(opts.memory!) : 'shadow-single';
  const names = files.map((f, i) => `${basename(f).replace(/\.[^.]*$/, '')}${files.filter((g) => basename(g) === basename(f)).length > 1 ? `#${i}` : ''}`);
  const specs: GuestSpec[] = files.map((f, i) => {
    try {
      return { name: names[i]!, image: new Uint8Array(readFileSync(f)) };
    } catch (e) {
      throw new Error(`${f}: cannot read (${(e as Error).message})`);
    }
  });
  const b = bootGuests(specs, mode);
  if (b.kind === 'error') throw new Error(b.message);
  const r = machine === 'impl' ? summaryOnImpl(runGuestsOnImpl(b.world, opts.maxInstructions)) : runGuests(b.world, opts.maxInstructions);
  const width = Math.max(...names.map((n) => n.length));
  r.consoles.forEach((text, i) => {
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) process.stdout.write(`${names[i]!.padEnd(width)} | ${line}\n`);
  });
  process.stderr.write(`mesovirt: ${files.length} guests on ${machine}, memory ${mode}, ${r.steps} steps, ${r.world.switches} world switches\n`);
  for (const g of r.world.guests) {
    const exits = Object.entries(g.vmm.exits).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ');
    process.stderr.write(`  ${g.name.padEnd(width)}: ${g.end ?? 'still running (step limit)'}; ${g.steps} steps; exits: ${exits}\n`);
  }
  const ends = r.world.guests.map((g) => g.end);
  const first = /^exit (\d+)$/.exec(ends[0] ?? '');
  process.exitCode = ends.every((e) => e !== null && e.startsWith('exit ')) && first !== null ? Number(first[1]) & 0xff : ends.some((e) => e === null) ? 6 : 7;
}
