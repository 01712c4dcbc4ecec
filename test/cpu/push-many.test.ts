// pushMany (model/cpu/context.ts), which event delivery uses to push its
// frame in one new state, against the plain path: the same values pushed one
// by one with push. Stacks near page boundaries and near the bottom of a
// 16-bit stack, expand-up and expand-down limits that cut a frame, and
// paging with the two stack pages mapped to frames far apart, not present,
// read-only or supervisor-only, or onto the page table that maps them (so a
// push writes the page tables a later walk reads). Two mutants prove that the
// comparison would notice a pushMany that stores a frame crossing a page as
// if it lay in one, or checks the limit of the first slot only.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { push, pushMany, pushManyMutation } from '../../model/cpu/context';
import { toCommon, type MachineState } from '../../model/cpu/state';
import { readBytes } from '../../model/cpu/memory';
import { tlbLookup } from '../../model/cpu/tlb';
import type { Result } from '../../model/cpu/outcome';
import { PTE, mapPage, systemState, withIdentityPaging } from '../../properties/builders';
import { propertyParams } from '../../properties/seed';

const CR3 = 0x100000;
/** The two linear pages around the stack, and the frames they map to when paging is on (far apart, in reverse order). */
const LOW_PAGE = 0x5000, HIGH_PAGE = 0x6000;
const LOW_FRAME = 0x30000, HIGH_FRAME = 0x22000;
/** The page table that maps linear 0..4 MiB (builders.ts mapPage puts it at CR3 + 0x1000). */
const TABLE = CR3 + 0x1000;

interface Scenario {
  readonly cpl: 0 | 3;
  readonly big: boolean;
  readonly expandDown: boolean;
  readonly base: number;
  readonly limit: number;
  readonly esp: number;
  readonly paging: 'off' | 'far' | 'on-table';
  readonly lowFlags: number;
  readonly highFlags: number;
  readonly values: number[];
  readonly size: 16 | 32;
}

const flags = fc.constantFrom(PTE.P | PTE.W | PTE.U, PTE.P | PTE.W | PTE.U, PTE.P | PTE.W | PTE.U | PTE.A | PTE.D, PTE.P | PTE.U, PTE.P | PTE.W, 0);
const scenario: fc.Arbitrary<Scenario> = fc.record({
  cpl: fc.constantFrom(0 as const, 3 as const),
  big: fc.boolean(),
  expandDown: fc.boolean(),
  base: fc.constantFrom(0, 0x10, 0xff8),
  limit: fc.oneof(
    { arbitrary: fc.constant(0xffffffff), weight: 3 },
    { arbitrary: fc.integer({ min: 0x5fe0, max: 0x6010 }), weight: 1 },
    { arbitrary: fc.integer({ min: 0, max: 0x20 }), weight: 1 },
  ),
  esp: fc.oneof(
    fc.integer({ min: HIGH_PAGE - 12, max: HIGH_PAGE + 28 }),
    fc.integer({ min: 0, max: 24 }).map((sp) => (0xabcd0000 | sp) >>> 0),
  ),
  paging: fc.constantFrom('off' as const, 'far' as const, 'on-table' as const),
  lowFlags: flags,
  highFlags: flags,
  values: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 6 }),
  size: fc.constantFrom(16 as const, 32 as const),
});

function stateFor(c: Scenario): MachineState {
  let s = systemState({ cpl: c.cpl, memorySize: 2 * 1024 * 1024 });
  if (c.paging !== 'off') {
    s = withIdentityPaging(s, CR3, 0, 0x20000);
    const lowFrame = c.paging === 'on-table' ? TABLE : LOW_FRAME;
    s = mapPage(mapPage(s, CR3, LOW_PAGE, lowFrame, c.lowFlags), CR3, HIGH_PAGE, HIGH_FRAME, c.highFlags);
  }
  const ss = s.segments.ss;
  // Writable data, expand-down or not, present, with its DPL; B as drawn.
  const attributes = (ss.attributes & 0x60) | 0x80 | (c.expandDown ? 0x16 : 0x12) | (c.big ? 0x4000 : 0);
  const regs = s.regs.slice();
  regs[4] = c.big ? c.esp : (c.esp - c.base) >>> 0;
  return { ...s, regs, segments: { ...s.segments, ss: { ...ss, base: c.base, limit: c.limit, attributes } } };
}

function onePushAtATime(state: MachineState, values: readonly number[], size: 16 | 32): Result<MachineState> {
  let s = state;
  for (const v of values) {
    const r = push(s, v, size);
    if (r.kind !== 'ok') return r;
    s = r.value;
  }
  return { kind: 'ok', value: s };
}

/** What a comparison looks at: the fault, or the registers, the memory a
 * push or a walk can reach, and the TLB's entries for the stack's pages. */
function observed(r: Result<MachineState>): unknown {
  if (r.kind !== 'ok') return r;
  const s = r.value;
  const bytes = (from: number, to: number): string => Buffer.from(readBytes(s.memory, from, to - from)).toString('hex');
  return {
    common: toCommon(s),
    stack: bytes(0x4000, 0x8000), frames: bytes(0x20000, 0x32000), tables: bytes(CR3, CR3 + 0x2000),
    tlb: [LOW_PAGE, HIGH_PAGE].map((p) => tlbLookup(s.tlb, p) ?? null),
  };
}

/** Does pushMany agree with pushing one at a time in every drawn scenario? Returns fast-check's report. */
function agrees(): fc.RunDetails<[Scenario]> {
  return fc.check(fc.property(scenario, (c) => {
    const s = stateFor(c);
    expect(observed(pushMany(s, c.values, c.size))).toEqual(observed(onePushAtATime(s, c.values, c.size)));
  }), propertyParams(400));
}

describe('pushMany', () => {
  it('[EXC.ENTRY.3] [PAGE.TLB.1] pushes as the same values pushed one at a time: the same fault, or the same registers, memory and TLB', () => {
    const result = agrees();
    expect(result.failed, fc.defaultReportMessage(result)).toBe(false);
  });

  it('the drawn scenarios reach what pushMany must get right: faults at a later slot, frames across pages, pushes onto the page table', () => {
    let laterSlotFault = 0, acrossPages = 0, ontoTable = 0;
    fc.assert(fc.property(scenario, (c) => {
      const s = stateFor(c);
      const one = onePushAtATime(s, c.values.slice(0, 1), c.size);
      const all = onePushAtATime(s, c.values, c.size);
      if (one.kind === 'ok' && all.kind === 'fault') laterSlotFault++;
      const bytes = c.size / 8;
      const top = c.big ? c.esp : c.esp & 0xffff;
      const linearTop = c.base + top;
      if (all.kind === 'ok' && (linearTop - 1) >>> 12 !== (linearTop - bytes * c.values.length) >>> 12) acrossPages++;
      if (all.kind === 'ok' && c.paging === 'on-table' && (linearTop - bytes * c.values.length) >>> 12 === LOW_PAGE >>> 12) ontoTable++;
    }), propertyParams(400));
    expect(laterSlotFault).toBeGreaterThanOrEqual(3);
    expect(acrossPages).toBeGreaterThanOrEqual(3);
    expect(ontoTable).toBeGreaterThanOrEqual(3);
  });

  it('mutants: a frame across two pages stored as if in one, and a limit checked for the first slot only, are caught', () => {
    for (const mutant of ['anyFrameOnePage', 'firstLimitOnly'] as const) {
      pushManyMutation[mutant] = true;
      try {
        expect(agrees().failed, mutant).toBe(true);
      } finally {
        pushManyMutation[mutant] = false;
      }
    }
  });
});
