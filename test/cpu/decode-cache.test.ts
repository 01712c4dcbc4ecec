// The fetch's decode cache (model/cpu/cycle.ts) memoizes decode and
// handlerFor by physical address; it must be invisible. Two kinds of check:
// code that rewrites itself and then runs the new bytes gets the new
// instruction (its result is worked out by hand below), and stepping with
// the cache ends in the very same state, event by event, as stepping with
// the cache emptied before every step (no cache at all). A mutant cache that
// never checks its memory blocks (decodeCacheMutation.trustStale) fails both.
import { afterEach, describe, expect, it } from 'vitest';
import { fromCommon, initialState, update, type MachineState } from '../../model/cpu/state';
import { writeBytes } from '../../model/cpu/memory';
import { step } from '../../model/cpu/step';
import { clearDecodeCache, decodeCacheMutation } from '../../model/cpu/cycle';
import { consoleBytes } from '../../model/cpu/devices';
import { loadMultiboot } from '../../model/boot/multiboot';
import { GUESTS_DIR } from '../../bench/kernels';
import { aluExpected, sieveExpected, syscallExpected } from '../../bench/reference';
import type { StepEvent } from '../../model/machine';
import { assembleFile } from '../../properties/assemble-file';

const CODE = 0x1000;

/** A flat ring-0 machine (paging off) with `code` at 0x1000 and EIP there. */
function machineWith(code: number[]): MachineState {
  const s = initialState(1 << 20);
  return update(s, { memory: writeBytes(s.memory, CODE, code), eip: CODE, regs: [0, 0, 0, 0, 0x8000, 0, 0, 0] });
}

/** Steps until HLT (or `limit` steps); with `cache: false` the decode cache
 * is emptied before every step. Returns the final state and every event. */
function runToHalt(start: MachineState, cache: boolean, limit = 1000): { state: MachineState; events: StepEvent[] } {
  let s = start;
  const events: StepEvent[] = [];
  clearDecodeCache();
  for (let i = 0; i < limit; i++) {
    if (!cache) clearDecodeCache();
    const r = step(s);
    s = r.state;
    events.push(r.event);
    if (r.event.kind !== 'retired') break;
  }
  return { state: s, events };
}

// Pass 1 runs `mov eax, 1` and `inc ebx`, then stores 2 over the MOV's
// immediate and 0x4B (DEC EBX) over the INC, and jumps back: pass 2 must
// run `mov eax, 2` and `dec ebx`. By hand: EAX = 2; EBX = +1 - 1 = 0; ECX
// counts the passes, 2; HLT at 0x101C leaves EIP at 0x101D. A cache that
// kept the old decodes would give EAX = 1 and EBX = 2 (the old immediate,
// and INC, whose handler differs too).
const SELF_MODIFYING = [
  0xb8, 0x01, 0x00, 0x00, 0x00, //             0x1000 mov eax, 1
  0x43, //                                     0x1005 inc ebx
  0x41, //                                     0x1006 inc ecx
  0x83, 0xf9, 0x02, //                         0x1007 cmp ecx, 2
  0x74, 0x10, //                               0x100a je 0x101c
  0xc6, 0x05, 0x01, 0x10, 0x00, 0x00, 0x02, // 0x100c mov byte [0x1001], 2
  0xc6, 0x05, 0x05, 0x10, 0x00, 0x00, 0x4b, // 0x1013 mov byte [0x1005], 0x4b
  0xeb, 0xe4, //                               0x101a jmp 0x1000 (0x101c - 0x1c)
  0xf4, //                                     0x101c hlt
];

afterEach(() => {
  decodeCacheMutation.trustStale = false;
  clearDecodeCache();
});

describe('the decode cache and self-modifying code', () => {
  it('code that rewrites an instruction it has run runs the new bytes (EAX = 2, EBX = 0, ECX = 2)', () => {
    const { state, events } = runToHalt(machineWith(SELF_MODIFYING), true);
    expect(events.at(-1)).toEqual({ kind: 'halted' });
    expect(state.regs.slice(0, 4)).toEqual([2, 2, 0, 0]);
    expect(state.eip).toBe(0x101d);
  });

  it('mutant: a cache that does not check its blocks runs the stale MOV and INC, and the test above would fail', () => {
    decodeCacheMutation.trustStale = true;
    const { state } = runToHalt(machineWith(SELF_MODIFYING), true);
    expect(state.regs[0]).toBe(1);
    expect(state.regs[3]).toBe(2);
  });

  it('with the cache and without it: the same events and the same final state', () => {
    const without = runToHalt(machineWith(SELF_MODIFYING), false);
    const withCache = runToHalt(machineWith(SELF_MODIFYING), true);
    expect(withCache.events).toEqual(without.events);
    expect(withCache.state).toEqual(without.state);
  });

  it('mutant: the comparison with and without the cache notices a stale cache', () => {
    const without = runToHalt(machineWith(SELF_MODIFYING), false);
    decodeCacheMutation.trustStale = true;
    const withStale = runToHalt(machineWith(SELF_MODIFYING), true);
    expect(withStale.state).not.toEqual(without.state);
  });
});

/** A bench kernel (guests/bench) at a tiny size, loaded as the bench loads it. */
function kernelState(source: string, defines: Record<string, string>): MachineState {
  const built = assembleFile(GUESTS_DIR + source, { format: 'bin', defines });
  const size = 16 << 20;
  const loaded = loadMultiboot(built, size);
  if (loaded.kind === 'error') throw new Error(loaded.message);
  let s = initialState(size);
  for (const w of loaded.writes) s = update(s, { memory: writeBytes(s.memory, w.address, w.bytes) });
  return fromCommon(s, loaded.entry);
}

/** Steps to the exit port, with or without the cache, comparing nothing:
 * returns the final state, the console and the events. */
function runToExit(start: MachineState, cache: boolean): { state: MachineState; events: StepEvent[]; console: string } {
  let s = start;
  const events: StepEvent[] = [];
  clearDecodeCache();
  for (let i = 0; i < 200_000; i++) {
    if (!cache) clearDecodeCache();
    const r = step(s);
    s = r.state;
    events.push(r.event);
    if (r.event.kind === 'exit' || r.event.kind === 'shutdown' || r.event.kind === 'halted' || r.event.kind === 'model-error') break;
  }
  return { state: s, events, console: Buffer.from(consoleBytes(s.devices.console)).toString('latin1') };
}

describe('the bench kernels step the same with the decode cache and without it', () => {
  const kernels: readonly { name: string; source: string; defines: Record<string, string>; expected: string }[] = [
    { name: 'alu', source: 'alu.asm', defines: { ALU_ITERATIONS: '100' }, expected: aluExpected(100) },
    { name: 'sieve', source: 'sieve.asm', defines: { SIEVE_SIZE: '512' }, expected: sieveExpected(512) },
    { name: 'syscall (paging, faults, ring 3)', source: 'syscall.asm', defines: { SYSCALL_ROUNDS: '2', SYSCALL_PAGES: '2' }, expected: syscallExpected(2, 2) },
  ];
  for (const k of kernels) {
    it(k.name, () => {
      const start = kernelState(k.source, k.defines);
      const without = runToExit(start, false);
      const withCache = runToExit(start, true);
      expect(without.console).toBe(k.expected);
      expect(withCache.events).toEqual(without.events);
      expect(withCache.state).toEqual(without.state);
    });
  }
});
