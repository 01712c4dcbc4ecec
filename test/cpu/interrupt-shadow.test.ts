// The interrupt shadow of STI, MOV SS and POP SS (spec EXC.SHADOW.1-2,
// IO.IF.2): which boundary a waiting interrupt or a single-step trap is
// taken at. Two programs, run on the model and on impl:
// - test/host/shadow-oracle.asm, nine cases whose answers are worked out
//   below from the rules; the four the manual settles are also run on QEMU;
// - a PIT sweep: the timer fires at every instruction boundary in turn
//   around one MOV SS (or POP SS), and the interrupt must never be taken on
//   the boundary right after it. impl with the mutant ss-load-leaves-no-shadow
//   fails it. About 1 s (plus QEMU, about 1 s).
// Ids: [EXC.SHADOW.1] [EXC.SHADOW.2] [IO.IF.2]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { assemble, assembleText } from '../../model/isa/asm/assemble';
import type { Machine } from '../../model/machine';
import { createModelMachine } from '../../properties/machines/model';
import { ImplMachine } from '../../impl/machine';
import { mutation } from '../../impl/mutants';
import { bootImage, createMachine, MACHINE_KINDS, runToEnd } from '../../properties/machines';
import { runQemu } from '../../properties/conformance/oracles';
import { oracleAvailable } from '../../properties/tools';
import { bareMachineOn, CODE, handlerFor, readDword } from '../impl/harness';

const source = join(dirname(fileURLToPath(import.meta.url)), '../host/shadow-oracle.asm');
const DB = 0x01, IRQ0 = 0x20;

function kernel(): { bytes: Uint8Array; at: (label: string) => number } {
  const r = assemble(source, (p) => readFileSync(p, 'utf8'), { format: 'bin' });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return { bytes: r.bytes, at: (label) => { const v = r.symbols.get(label); if (v === undefined) throw new Error(label); return v; } };
}

/** The console split into cases: marker byte → [vector, offset] pairs. */
function cases(out: Uint8Array): Map<number, number[][]> {
  const result = new Map<number, number[][]>();
  let at = 0;
  while (at < out.length) {
    const marker = out[at++]!;
    const events: number[][] = [];
    while (at + 1 < out.length && (out[at] === DB || out[at] === IRQ0)) { events.push([out[at]!, out[at + 1]!]); at += 2; }
    result.set(marker, events);
  }
  return result;
}

/** What each case must print, from the rules (offsets from the case's first
 * instruction; `tfOff`: where tf_off starts, from the case's start). */
function expectedCases(at: (label: string) => number): Map<number, number[][]> {
  // tf_off's own four instructions trap (CALL, PUSHFD, AND (7 bytes), POPFD
  // which clears TF but started with it): EIPs tf_off, +1, +8, +9.
  const tfOff = (c: string): number[][] => [0, 1, 8, 9].map((k) => [DB, (at('tf_off') + k - at(c)) & 0xff]);
  const irq = (offset: number): number[][] => [[IRQ0, offset]];
  return new Map([
    // 1. sti@0 inc@1 inc@2: STI's shadow covers boundary 1 (IO.IF.2): taken at 2.
    [0xc1, irq(2)],
    // 2. sti@0 mov-ss@1 inc@3 inc@4: STI's shadow at 1, MOV SS's at 3: taken at 4.
    [0xc2, irq(4)],
    // 3. sti@0 pop-ss@1 inc@2 inc@3: shadows at 1 and 2: taken at 3.
    [0xc3, irq(3)],
    // 4. mov-ss@0 sti@2 inc@3 inc@4: IF = 0 at 2, STI's shadow at 3: taken at 4.
    [0xc4, irq(4)],
    // 5. sti@0 sti@1 inc@2: the second STI finds IF = 1 and leaves no shadow: taken at 2.
    [0xc5, irq(2)],
    // 6. TF: the RET of tf_on traps at 0; mov-ss@0 takes none (EXC.SHADOW.2); inc@2 → 3, inc@3 → 4.
    [0xc6, [[DB, 0], [DB, 3], [DB, 4], ...tfOff('c6')]],
    // 7. TF: pop-ss@0 takes none; inc@1 → 2, inc@2 → 3.
    [0xc7, [[DB, 0], [DB, 2], [DB, 3], ...tfOff('c7')]],
    // 8. TF: mov-ss@0 and mov-ss@2 take none; inc@4 → 5, inc@5 → 6.
    [0xc8, [[DB, 0], [DB, 5], [DB, 6], ...tfOff('c8')]],
    // 9. TF: sti@0 traps (STI holds no trap back): 1; inc@1 → 2; cli@2 → 3.
    [0xc9, [[DB, 0], [DB, 1], [DB, 2], [DB, 3], ...tfOff('c9')]],
    [0xcf, []],
  ]);
}

function runOurs(kind: (typeof MACHINE_KINDS)[number], image: Uint8Array): Uint8Array {
  const machine = createMachine(kind, 64 << 20);
  bootImage(machine, image, 'shadow-oracle');
  const outcome = runToEnd(machine, 2_000_000);
  expect(outcome.end?.kind).toBe('exit');
  return Buffer.from(outcome.console, 'latin1');
}

describe('[EXC.SHADOW.1] [EXC.SHADOW.2] STI, MOV SS and POP SS: the oracle kernel', () => {
  const { bytes, at } = kernel();
  for (const kind of MACHINE_KINDS) {
    it(`on ${kind}: every case as worked out from the rules`, () => {
      expect(cases(runOurs(kind, bytes))).toEqual(expectedCases(at));
    });
  }

  // The cases the manual settles: 1 and 5 (IO.IF.2), 6 and 7 (a single SS
  // load holds the trap back). QEMU 7.2 differs on the open ones (2-4: only
  // the first of a pair sets a shadow; 9: it holds the trap back after STI).
  const available = oracleAvailable('qemu-system-i386');
  it.skipIf(!available)('QEMU takes the interrupt and the trap where we do on the cases the manual settles', async () => {
    const run = await runQemu(bytes, 'binary');
    expect(run.ending).toBe('exit');
    const qemu = cases(Buffer.from(run.text, 'latin1'));
    const ours = cases(runOurs('model', bytes));
    for (const marker of [0xc1, 0xc5, 0xc6, 0xc7]) expect([marker, qemu.get(marker)]).toEqual([marker, ours.get(marker)]);
  }, 60_000);
});

// The timer fires after `reload` retired instructions; sweeping the reload
// moves the interrupt across every boundary around the SS load at `load`.
const SWEEP = (loadSs: string): string => `bits 32
org ${CODE}
  mov al, 0x11
  out 0x20, al
  mov al, 0x10          ; IRQ 0 is vector 0x10: the harness's HLT handler
  out 0x21, al
  mov al, 0x04
  out 0x21, al
  mov al, 0x01
  out 0x21, al
  mov al, 0xfe
  out 0x21, al
  mov al, 0x34
  out 0x43, al
reload:
  mov al, 1
  out 0x40, al
  xor al, al
  out 0x40, al
  mov dx, 0x10
  push dword 0x10
  sti
  times 16 nop
load:
  ${loadSs}
after:
  times 16 nop
  hlt
`;

/** The EIP each reload's interrupt pushed (null: no interrupt before the HLT). */
function sweep(make: () => Machine, loadSs: string): { pushed: Array<number | null>; load: number; after: number } {
  const r = assembleText({ 'sweep.asm': SWEEP(loadSs) }, 'sweep.asm', { format: 'bin' });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => e.message).join('; '));
  const pushed: Array<number | null> = [];
  for (let reload = 1; reload <= 36; reload++) {
    const code = r.bytes.slice();
    code[r.symbols.get('reload')! - CODE + 1] = reload;
    const m = bareMachineOn(make(), code);
    for (let i = 0; i < 200 && !m.state().halted; i++) m.step();
    const s = m.state();
    pushed.push(s.eip === handlerFor(0x10) + 1 ? readDword(m, s.regs.esp) : null);
  }
  return { pushed, load: r.symbols.get('load')!, after: r.symbols.get('after')! };
}

/** How often each boundary around the SS load was the one taken. */
function around(result: ReturnType<typeof sweep>): number[] {
  const { pushed, load, after } = result;
  return [load, after, after + 1].map((eip) => pushed.filter((p) => p === eip).length);
}

describe('[EXC.SHADOW.1] the timer fires at each boundary in turn around an SS load', () => {
  afterEach(() => { mutation.active = null; });
  const makers: Array<[string, () => Machine]> = [['model', () => createModelMachine(4 << 20)], ['impl', () => new ImplMachine(4 << 20)]];
  for (const [name, make] of makers) {
    for (const loadSs of ['mov ss, dx', 'pop ss']) {
      it(`${name}, ${loadSs}: never taken right after it; the request that came then waits one instruction`, () => {
        const result = sweep(make, loadSs);
        // The sweep reaches past the SS load, and the pushed EIPs only move forward.
        const taken = result.pushed.filter((p): p is number => p !== null);
        expect(taken.length).toBe(result.pushed.length);
        expect(taken.every((p, i) => i === 0 || p >= taken[i - 1]!)).toBe(true);
        expect(taken[taken.length - 1]).toBeGreaterThan(result.after + 1);
        // Raised as the NOP before the load retired: taken before the load.
        // Raised as the load retired: held to after the next NOP, as is the
        // one raised when that NOP retired: two reloads share after + 1.
        expect(around(result)).toEqual([1, 0, 2]);
      });
    }
  }

  it('impl with the mutant ss-load-leaves-no-shadow takes it right after the load', () => {
    mutation.active = 'ss-load-leaves-no-shadow';
    for (const loadSs of ['mov ss, dx', 'pop ss']) expect(around(sweep(() => new ImplMachine(4 << 20), loadSs))).toEqual([1, 1, 1]);
  });
});
