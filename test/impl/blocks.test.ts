// Translated blocks (impl/blocks.ts) change nothing but speed: a machine
// driven by run() (blocks on) and one driven by step() alone (the plain
// interpreter, which the lock-step and differential tests hold to the model)
// must see the same events at the same instruction counts and EIPs, and end
// in the same state, console output and memory. The expected answers come
// from outside impl: bench/reference.ts for the kernels, the teach guest's
// known lines, and a hand-computed sum for the self-modifying loop.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble, assembleText } from '../../model/isa/asm/assemble';
import { loadMultiboot } from '../../model/boot/multiboot';
import type { CommonState, StepEvent } from '../../model/machine';
import { ImplMachine } from '../../impl/machine';
import { flatEntryState } from '../../properties/machines';
import { KERNELS, buildKernel } from '../../bench/kernels';
import { LOCKSTEP_GUESTS } from '../../properties/diff/guests';

/** Compile a block where the interpreter has run an instruction 8 times, looping or not,
 * so that short runs exercise blocks (impl/cpu.ts blockThresholds). */
const EAGER = { loop: 8, straight: 8 };

const MEMORY = 64 << 20;

function buildFile(path: string): Uint8Array {
  const base = dirname(path);
  const result = assemble(path, (file) => {
    try { return readFileSync(resolve(base, file.startsWith('/') ? file : join('.', file)), 'utf8'); }
    catch { try { return readFileSync(file, 'utf8'); } catch { return null; } }
  }, { format: 'bin' });
  if (result.kind !== 'ok') throw new Error(JSON.stringify(result.errors.slice(0, 3)));
  return result.bytes;
}

function bootMultiboot(image: Uint8Array): ImplMachine {
  const m = new ImplMachine(MEMORY);
  m.cpu.blockThresholds = EAGER;
  const loaded = loadMultiboot(image, MEMORY);
  if (loaded.kind !== 'ok') throw new Error(loaded.message);
  for (const w of loaded.writes) m.writePhysical(w.address, w.bytes);
  m.setState(loaded.entry);
  return m;
}

/** Flat ring 0 at 0x100000, no paging, no interrupts. */
function bootFlat(source: string): ImplMachine {
  const r = assembleText({ 'p.asm': source }, 'p.asm', { format: 'bin' });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => e.message).join('; '));
  const m = new ImplMachine(4 << 20);
  m.cpu.blockThresholds = EAGER;
  m.writePhysical(0x100000, r.bytes);
  const state: CommonState = flatEntryState(0x100000, 0x90000);
  m.setState(state);
  return m;
}

type Trace = string[];
const ends = (e: StepEvent) => e.kind === 'exit' || e.kind === 'shutdown' || e.kind === 'model-error' || e.kind === 'halted';
const note = (m: ImplMachine, e: StepEvent) => `${m.state().instructionCount} ${m.state().eip.toString(16)} ${JSON.stringify(e)}`;

/** Drive with run(chunk): every non-retired event, with count and EIP. */
function traceRun(m: ImplMachine, limit: number, chunk: number): Trace {
  const trace: Trace = [];
  while (m.state().instructionCount < limit) {
    const e = m.run(chunk);
    if (e.kind !== 'retired') trace.push(note(m, e));
    if (ends(e)) break;
  }
  return trace;
}

/** The same with step() alone (no blocks). */
function traceStep(m: ImplMachine, limit: number): Trace {
  const trace: Trace = [];
  while (m.state().instructionCount < limit) {
    const e = m.step();
    if (e.kind !== 'retired') trace.push(note(m, e));
    if (ends(e)) break;
  }
  return trace;
}

function expectSameRun(boot: () => ImplMachine, limit: number, chunk = 1_000_000, mustTranslate = true): { fast: ImplMachine; trace: Trace } {
  const fast = boot(), slow = boot();
  const fastTrace = traceRun(fast, limit, chunk);
  const slowTrace = traceStep(slow, limit);
  expect(fastTrace).toEqual(slowTrace);
  expect(fast.state()).toEqual(slow.state());
  expect(Buffer.from(fast.consoleOutput()).toString('latin1')).toBe(Buffer.from(slow.consoleOutput()).toString('latin1'));
  const size = fast.memorySize;
  expect(Buffer.compare(fast.readPhysical(0, size), slow.readPhysical(0, size))).toBe(0);
  if (mustTranslate) {
    expect(fast.blockStats().compiled).toBeGreaterThan(0);
    expect(fast.blockStats().runs).toBeGreaterThan(0);
  }
  return { fast, trace: fastTrace };
}

describe('translated blocks run exactly like the interpreter', () => {
  const SIZES: Record<string, number> = { alu: 20_000, sieve: 16_384, syscall: 40 };
  for (const kernel of KERNELS) {
    it(`bench kernel ${kernel.name}: same events, state and memory; prints the reference answer`, () => {
      const image = buildKernel(kernel, SIZES[kernel.name]);
      const { fast } = expectSameRun(() => bootMultiboot(image), 50_000_000);
      expect(Buffer.from(fast.consoleOutput()).toString('latin1')).toContain(kernel.expected(SIZES[kernel.name]).trim());
    });
  }

  it('syscall kernel: page faults inside blocks leave at the faulting instruction', () => {
    const image = buildKernel(KERNELS.find((k) => k.name === 'syscall')!, 40);
    const { fast, trace } = expectSameRun(() => bootMultiboot(image), 50_000_000);
    // 16 demand faults per round, each delivered as vector 14 at the faulting EIP.
    expect(trace.filter((line) => line.includes('"vector":14')).length).toBe(40 * 16);
    expect(fast.blockStats().bailouts).toBeGreaterThan(0);
  });

  it('guests/teach: timer interrupts land at the same instruction counts (blocks stop short of the timer)', () => {
    const image = buildFile('guests/teach/teach.asm');
    const { fast, trace } = expectSameRun(() => bootMultiboot(image), 50_000_000);
    expect(trace.some((line) => line.includes('"kind":"interrupt"'))).toBe(true);
    const lines = Buffer.from(fast.consoleOutput()).toString('latin1').split('\n');
    expect(lines[0]).toBe('[kernel] teach booted: 4 processes');
    expect(lines.at(-2)).toBe('[kernel] all processes exited');
  });

  it('small run limits are honoured: run(n) never retires more than n instructions', () => {
    const image = buildKernel(KERNELS[0], 2_000);
    expectSameRun(() => bootMultiboot(image), 50_000_000, 7);
  });

  it('self-modifying code: a store into the running block\'s own frame ends the block; EAX = 1325 (by hand)', () => {
    // ECX 100..51 add 1 each (50); at ECX = 50 the add still adds 1 and then
    // patches its own immediate to 50; from then on ECX = c adds c + 1:
    // 51 + (2 + ... + 50) = 51 + 1274 = 1325.
    const source = `bits 32
org 0x100000
  mov ecx, 100
  xor eax, eax
  mov edi, 0x200000                ; data in another frame
top:
  cmp ecx, 50
  jne go
  mov edi, patch + 2
go:
patch:
  add eax, strict byte 1
  mov [edi], cl
  dec ecx
  jnz top
  mov dx, 0xf4
  out dx, al
`;
    const { fast } = expectSameRun(() => bootFlat(source), 100_000);
    expect(fast.state().regs.eax).toBe(1325);
    expect(fast.blockStats().bailouts).toBeGreaterThan(0);
  });

  it('a store next to code in the same frame keeps the frame\'s blocks; EAX = 5050 (by hand)', () => {
    // The counter lives right after the loop, in the loop's own 4 KiB frame.
    const source = `bits 32
org 0x100000
  mov ecx, 100
  xor eax, eax
top:
  add eax, ecx
  mov [counter], ecx
  dec ecx
  jnz top
  mov dx, 0xf4
  out dx, al
counter: dd 0
`;
    const { fast } = expectSameRun(() => bootFlat(source), 100_000);
    expect(fast.state().regs.eax).toBe(5050);
    expect(fast.readPhysical(0x100000 + 23, 4)).toEqual(Uint8Array.of(1, 0, 0, 0));
    expect(fast.blockStats()).toMatchObject({ compiled: 1, bailouts: 0 });
  });

  it('the flags of inlined ALU instructions, met every way in a block (rotate, INC, shift, IMUL, PUSHFD, ADC, Jcc known and from the record, jump targets), as step() has them', () => {
    // Each line after an ALU instruction meets its flags differently: a
    // rotate changes CF and OF only, INC keeps CF, a shift or IMUL writes
    // them all, PUSHFD and ADC read them through their executors, a Jcc
    // tests them from the block's locals or from the lazy record.
    const source = `bits 32
org 0x100000
  mov ecx, 300
  xor esi, esi
  mov eax, 0x12345678
  mov edx, 0x9abcdef0
top:
  add eax, ecx
  rol edx, 3
  pushfd
  pop ebx
  add esi, ebx
  sub eax, edx
  inc edx
  pushfd
  pop ebx
  xor esi, ebx
  xor eax, 0x5555
  shr edx, 1
  jc skip1
  add esi, 7
skip1:
  cmp eax, edx
  imul eax, eax, 3
  js skip2
  add esi, 3
skip2:
  test eax, 1
  jz skip3
  adc esi, 0
skip3:
  sub edx, eax
  ror eax, 5
  jo skip4
  add esi, ecx
skip4:
  dec ecx
  jnz top
  pushfd
  pop ebx
  mov dx, 0xf4
  out dx, al
`;
    const { fast } = expectSameRun(() => bootFlat(source), 100_000);
    expect(fast.blockStats().compiled).toBeGreaterThan(0);
  });

  // Every guest of the lock-step suite (the conformance kernels load
  // segments with limits, take gates and faults, switch paging; rtos idles
  // on its timer): run() and step() agree over the same budget.
  for (const guest of LOCKSTEP_GUESTS) {
    it(`lock-step guest ${guest.name}: run() equals step()`, () => {
      const image = guest.build();
      expectSameRun(() => bootMultiboot(image), guest.budget, 1_000_000, false);
    });
  }
});
