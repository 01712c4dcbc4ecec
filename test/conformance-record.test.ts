// The recorder: overrides replace exactly their fragment and fail loudly
// when out of date; refreshing the known discrepancies follows addresses
// that moved but never accepts a change in substance.
import { describe, expect, test } from 'vitest';
import { applyOverrides, decodeOverrides, loadOverrides, type Overrides } from '../properties/conformance/overrides';
import { expectedFromOracle, refreshKnown } from '../properties/conformance/record';
import type { KnownDiscrepancies } from '../properties/conformance/known';
import { KERNELS } from '../properties/conformance/kernels';

const overrides: Overrides = {
  notes: [],
  overrides: [{ kernel: 'k', test: 't 1', oracle: 'bochs', from: 'a=00c09a00', to: 'a=00c09b00', reason: 'SDM 3.4.5.1' }],
};

describe('overrides', () => {
  test('replace the fragment in the one line of their test, on their oracle only', () => {
    const text = 't 0: ok a=00c09a00\nt 1: ok a=00c09a00\nend\n';
    const r = applyOverrides('k', 'bochs', text, overrides);
    expect(r.text).toBe('t 0: ok a=00c09a00\nt 1: ok a=00c09b00\nend\n');
    expect(r.applied).toEqual([{ line: 2, before: 't 1: ok a=00c09a00', after: 't 1: ok a=00c09b00', reason: 'SDM 3.4.5.1' }]);
    expect(applyOverrides('k', 'qemu', text, overrides).text).toBe(text);
  });

  test('an override that no longer matches is an error', () => {
    expect(() => applyOverrides('k', 'bochs', 't 1: ok a=00000000\nend\n', overrides)).toThrow(/does not contain 'a=00c09a00'/);
    expect(() => applyOverrides('k', 'bochs', 't 2: ok\nend\n', overrides)).toThrow(/0 lines of that test/);
  });

  test('a transcript that did not reach the end line is not recorded', () => {
    expect(() => expectedFromOracle('k', 'bochs', 't 1: ok a=00c09a00\n', overrides)).toThrow(/did not reach 'end'/);
  });

  test('the overrides file decodes, and names only known kernels', () => {
    for (const o of loadOverrides().overrides) expect(KERNELS as readonly string[]).toContain(o.kernel);
    expect(() => decodeOverrides('{"notes": [], "overrides": [{"kernel": "k"}]}', 'O.json')).toThrow(/O\.json: .*test/);
    expect(() => decodeOverrides('{"notes": [], "overrides": [{"kernel": "k", "test": "t", "oracle": "bochs", "from": "a", "to": "b", "reason": " "}]}', 'O.json')).toThrow(/reason is empty/);
  });
});

describe('refreshing the known discrepancies', () => {
  const entry = {
    kernel: 'k', test: 'lim 1', machine: 'qemu' as const, reason: 'QEMU TCG does not check limits',
    got: 'lim 1: ok a=00000000 c=0 d=0 f=00000046', manual: 'lim 1: #0d e=0000 ip=00100200 cs=001b f=00000246 sp=00360000 ss=0033',
  };
  const known: KnownDiscrepancies = { notes: [], discrepancies: [entry] };

  test('lines whose addresses moved are refreshed', () => {
    const expected = 'lim 1: #0d e=0000 ip=00100210 cs=001b f=00000246 sp=00360000 ss=0033\nend\n';
    const r = refreshKnown('k', expected, new Map([['qemu', `${entry.got}\nend\n`]]), known);
    expect(r.refreshed).toBe(1);
    expect(r.known.discrepancies[0]!.manual).toBe(expected.split('\n')[0]);
  });

  test('a change in substance is left as it was, for a person to decide', () => {
    const expected = 'lim 1: #0c e=0000 ip=00100210 cs=001b f=00000246 sp=00360000 ss=0033\nend\n';
    const r = refreshKnown('k', expected, new Map([['qemu', `${entry.got}\nend\n`]]), known);
    expect(r.undecided).toHaveLength(1);
    expect(r.known.discrepancies).toEqual([entry]);
  });

  test('an entry that no longer differs is dropped; other machines and kernels are untouched', () => {
    const r = refreshKnown('k', `${entry.got}\nend\n`, new Map([['qemu', `${entry.got}\nend\n`]]), known);
    expect(r.dropped).toEqual([entry]);
    expect(r.known.discrepancies).toEqual([]);
    expect(refreshKnown('k', 'x\n', new Map([['bochs', 'y\n']]), known).known).toEqual(known);
    expect(refreshKnown('other', 'x\n', new Map([['qemu', 'y\n']]), known).known).toEqual(known);
  });
});
