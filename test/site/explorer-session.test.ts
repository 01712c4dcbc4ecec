// The explorer's run, outside the browser: its steps are the model's steps,
// stepping back gives exactly the earlier state (also after that state was
// dropped from memory and recomputed from a checkpoint), the tables mark
// what a step changed, and the read-only page walk agrees with the model's.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { step } from '../../model/cpu/step';
import { REGISTER_NAMES, toCommon } from '../../model/cpu/state';
import { translate } from '../../model/cpu/paging';
import { advance, boot, CHECKPOINT, Timeline, WINDOW, type Snapshot } from '../../web/explorer/session';
import { changedCells, consoleText, exitReason, inspect, walk, writesPort } from '../../web/explorer/inspect';
import { buildGuests } from '../../web/guests';
import { createMachine, bootImage, runToEnd } from '../../properties/machines';

const guests = buildGuests(process.cwd());
const image = (name: string): Uint8Array => Buffer.from(guests.find((g) => g.name === name)!.image, 'base64');
const booted = (name: string, meso = false): Snapshot => {
  const b = boot(image(name), meso);
  if (b.kind !== 'ok') throw new Error(b.message);
  return b.snapshot;
};

describe('the explorer runs the model', () => {
  it('hello runs to its exit as impl does: same step count, the source\'s message on the console', () => {
    const t = new Timeline(booted('hello'));
    const end = t.at(10_000);
    expect(t.end).toBe(end.step);
    expect(end.transition?.event).toEqual({ kind: 'exit', code: expect.any(Number) });
    // Independent: the impl machine's run of the same image, and the string in hello.asm.
    const impl = createMachine('impl', 64 * 1024 * 1024);
    bootImage(impl, image('hello'), 'hello');
    const run = runToEnd(impl, 10_000);
    expect(end.step).toBe(run.steps);
    const message = /message:\s+db\s+"([^"]+)"/.exec(readFileSync('guests/hello/hello.asm', 'utf8'))![1]!;
    expect(consoleText(end.snapshot.machine)).toBe(`${message}\n`);
    expect(run.console).toBe(`${message}\n`);
  });

  it('stepping back returns the very state of every earlier step, also those dropped and recomputed', () => {
    const t = new Timeline(booted('segload'));
    const last = 9000;
    t.at(last); // far past the window: most steps before 9000 - WINDOW are no longer kept
    expect(t.kept).toBeLessThanOrEqual(WINDOW + Math.ceil(last / CHECKPOINT) + 1);
    let s = booted('segload').machine;
    for (let k = 0; k <= last; k++) {
      const got = t.at(k);
      expect(got.step).toBe(k);
      if (k % 7 === 0 || k % CHECKPOINT <= 1 || k > last - 2) expect(toCommon(got.snapshot.machine), `step ${k}`).toEqual(toCommon(s));
      else expect(got.snapshot.machine.eip, `step ${k}`).toBe(s.eip);
      s = step(s).state;
    }
  });

  it('the tables mark exactly the cells a step changed', () => {
    const t = new Timeline(booted('hello'));
    // Find a step that changes one general register and leaves the others.
    for (let n = 1; n < 100; n++) {
      const a = t.at(n - 1).snapshot.machine;
      const b = t.at(n).snapshot.machine;
      const differ = REGISTER_NAMES.filter((_, i) => b.regs[i] !== a.regs[i]);
      if (differ.length !== 1 || differ[0] === 'esp') continue;
      const changed = changedCells(inspect(t.at(n).snapshot, t.at(n - 1).snapshot, t.at(n).transition), inspect(t.at(n - 1).snapshot, null, null));
      const marked = REGISTER_NAMES.filter((r) => changed.has(`registers/${r}/1`));
      expect(marked).toEqual(differ);
      expect(changed.has('registers/eip/1')).toBe(true);
      expect([...changed].filter((c) => c.startsWith('segments/'))).toEqual([]);
      return;
    }
    throw new Error('no step of hello changes one general register alone');
  });

  it('run to port write stops after the first OUT: hello\'s first console byte', () => {
    const t = new Timeline(booted('hello'));
    const n = t.runUntil(0, (_tr, before) => writesPort(before.machine), 10_000);
    expect(writesPort(t.at(n - 1).snapshot.machine)).toBe(true);
    expect(consoleText(t.at(n - 1).snapshot.machine)).toBe('');
    expect(consoleText(t.at(n).snapshot.machine)).toBe('h');
  });

  it('the read-only page walk finds the physical address the model translates to', () => {
    let s = booted('teach').machine;
    for (let i = 0; i < 20_000 && (s.cr0 >>> 31) === 0; i++) s = step(s).state;
    expect(s.cr0 >>> 31).toBe(1);
    let checked = 0;
    for (const linear of [s.eip, s.regs[4]!, s.gdtr.base, s.idtr.base, 0x100000, 0x400000, 0xc0000000]) {
      const r = translate(s, linear, { write: false, user: false });
      const w = walk(s, linear);
      if (r.kind === 'ok') { expect(w.physical).toBe(r.physical); checked++; } else expect(typeof w.physical).toBe('string');
    }
    expect(checked).toBeGreaterThan(2);
  });

  it('under the monitor, an exit is a step of its own and names the reason it was counted under', () => {
    let s = booted('teach-meso', true);
    for (let i = 0; i < 100_000; i++) {
      const r = advance(s);
      if (r.transition.world?.kind === 'exit') {
        expect(exitReason(s.vmm!.exits, r.snapshot.vmm!.exits)).not.toBe(null);
        return;
      }
      s = r.snapshot;
    }
    throw new Error('teach-meso took no exit');
  });
});
