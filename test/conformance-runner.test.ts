// The comparison can fail: a transcript that differs on a line nobody
// listed is rejected, a listed discrepancy is tolerated only on its own
// machine and with its exact output, and the known-discrepancies file is
// consistent with the expected transcripts.
import { describe, expect, test } from 'vitest';
import { KERNELS, expectedTranscript } from '../properties/conformance/kernels';
import { compareTranscript, testName } from '../properties/conformance/compare';
import { decodeKnown, loadKnown } from '../properties/conformance/known';

const known = loadKnown();
const expected = expectedTranscript('segload');
const lines = expected.split('\n');

describe('transcript comparison', () => {
  test('the expected transcript matches itself on every machine', () => {
    for (const m of ['model', 'impl', 'bochs'] as const) {
      expect(compareTranscript('segload', m, expected, expected, known).failures).toEqual([]);
    }
  });

  test('a line that differs and is not listed is a failure', () => {
    const i = lines.findIndex((l) => l.startsWith('seg 3 ss 0043 72: '));
    expect(i).toBeGreaterThanOrEqual(0);
    const changed = [...lines];
    changed[i] = 'seg 3 ss 0043 72: ok a=00000043 c=00000000 d=00000073 f=00000046';
    const c = compareTranscript('segload', 'model', expected, changed.join('\n'), known);
    expect(c.failures).toEqual([{ line: i + 1, expected: lines[i], got: changed[i] }]);
  });

  test('a missing line and a truncated transcript are failures', () => {
    const c = compareTranscript('segload', 'impl', expected, lines.slice(0, 10).join('\n'), known);
    expect(c.failures.length).toBeGreaterThan(400);
  });

  test('a listed QEMU discrepancy is tolerated on QEMU only, and only with its listed output', () => {
    const d = known.discrepancies.find((x) => x.kernel === 'segload' && x.machine === 'qemu')!;
    const i = lines.indexOf(d.manual);
    const changed = [...lines];
    changed[i] = d.got;
    const onQemu = compareTranscript('segload', 'qemu', expected, changed.join('\n'), known);
    expect(onQemu.failures).toEqual([]);
    expect(onQemu.tolerated.map((t) => t.difference.got)).toEqual([d.got]);
    expect(compareTranscript('segload', 'model', expected, changed.join('\n'), known).failures).toHaveLength(1);
    expect(compareTranscript('segload', 'bochs', expected, changed.join('\n'), known).failures).toHaveLength(1);
    changed[i] = `${d.got} `;
    expect(compareTranscript('segload', 'qemu', expected, changed.join('\n'), known).failures).toHaveLength(1);
  });

  test('a listed discrepancy that does not occur is reported as stale', () => {
    const c = compareTranscript('segload', 'qemu', expected, expected, known);
    expect(c.stale.length).toBe(known.discrepancies.filter((d) => d.kernel === 'segload' && d.machine === 'qemu').length);
  });
});

describe('KNOWN-DISCREPANCIES.json', () => {
  test('every entry names a kernel, and its manual answer is that kernel\'s expected line', () => {
    for (const d of known.discrepancies) {
      expect(KERNELS as readonly string[]).toContain(d.kernel);
      expect(expectedTranscript(d.kernel as (typeof KERNELS)[number]).split('\n')).toContain(d.manual);
      expect(testName(d.got)).toBe(d.test);
    }
  });

  test('model and impl bugs are marked as such', () => {
    for (const d of known.discrepancies.filter((x) => x.machine === 'model' || x.machine === 'impl')) {
      expect(d.reason).toMatch(new RegExp(`^${d.machine} bug: .*reported`));
    }
  });

  test('a bad file is rejected with the field named', () => {
    expect(() => decodeKnown('{"notes": [], "discrepancies": [{"kernel": "segload"}]}', 'K.json')).toThrow(/K\.json: .*test/);
    expect(() => decodeKnown('{"notes": [], "discrepancies": [{"kernel": "segload", "test": "x", "machine": "vmware", "got": "x: a", "manual": "x: b", "reason": "r"}]}', 'K.json')).toThrow(/machine/);
    expect(() => decodeKnown('not json', 'K.json')).toThrow(/K\.json: not JSON/);
  });
});
