// Whole guests on impl: images built by our assembler, loaded by the
// Multiboot loader (model/boot, a pure function used here from a test, never
// from impl/), run to their exit through port 0xF4.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../model/isa/asm/assemble';
import { loadMultiboot } from '../../model/boot/multiboot';
import { ImplMachine } from '../../impl/machine';

function build(path: string, format: 'bin' | 'elf'): Uint8Array {
  const base = dirname(path);
  const result = assemble(path, (file) => {
    try { return readFileSync(resolve(base, file.startsWith('/') ? file : join('.', file)), 'utf8'); }
    catch { try { return readFileSync(file, 'utf8'); } catch { return null; } }
  }, { format });
  if (result.kind !== 'ok') throw new Error(JSON.stringify(result.errors.slice(0, 3)));
  return result.bytes;
}

function boot(image: Uint8Array, limit: number): { console: string; exit: number | null; machine: ImplMachine } {
  const machine = new ImplMachine(64 << 20);
  const loaded = loadMultiboot(image, machine.memorySize);
  if (loaded.kind !== 'ok') throw new Error(loaded.message);
  for (const w of loaded.writes) machine.writePhysical(w.address, w.bytes);
  machine.setState(loaded.entry);
  let exit: number | null = null;
  for (let i = 0; i < limit && exit === null; i++) {
    const e = machine.step();
    if (e.kind === 'exit') exit = e.code;
    if (e.kind === 'shutdown' || e.kind === 'model-error') throw new Error(`${e.kind}: ${JSON.stringify(e)}`);
  }
  return { console: new TextDecoder().decode(machine.consoleOutput()), exit, machine };
}

describe('impl runs the guests', () => {
  it('guests/hello (ELF) prints its line and exits with code 1 ((0 << 1) | 1)', () => {
    const run = boot(build('guests/hello/hello.asm', 'elf'), 100_000);
    expect(run.console).toBe('hello from mesovirt\n');
    expect(run.exit).toBe(1);
  });

  it('guests/teach (native, flat) boots, schedules its processes, and exits with code 1', () => {
    const run = boot(build('guests/teach/teach.asm', 'bin'), 50_000_000);
    const lines = run.console.split('\n');
    expect(lines[0]).toBe('[kernel] teach booted: 4 processes');
    // pid 4 writes to a supervisor page from ring 3: #PF error code P|W|U = 7.
    expect(lines).toContain('[kernel] pid 4 killed: page fault at 0x00100000 error 0x00000007');
    expect(lines).toContain('[kernel] pid 1 exit status 0x00000003');
    expect(lines).toContain('[kernel] pid 2 exit status 0x00000004');
    expect(lines.at(-2)).toBe('[kernel] all processes exited');
    expect(run.exit).toBe(1);
  });
});
