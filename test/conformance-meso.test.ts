// The sensitive kernel's meso build (harness in ring 1) under the monitor:
// what the guest kernel sees at ring 1 where the native kernel ran at ring 0.
// The privileged instructions that trap at ring 1 are emulated, so their
// lines equal the native transcript's (Bochs-recorded) lines; the
// sensitive-but-unprivileged ones do not trap and show the real machine,
// the divergences the design expects (DESIGN.md, 4: "documented
// divergences where it does not"): SGDT/SIDT give the monitor's tables
// above the VMM base, PUSH CS shows RPL 1.
// Only the CPL-0 lines are compared: the harness's CPL-1 tests share the
// kernel's ring under meso (their HLT halts the guest for good).
import { describe, expect, test } from 'vitest';
import { expectedTranscript } from '../properties/conformance/kernels';
import { runMeso } from '../properties/conformance/meso';
import { testName } from '../properties/conformance/compare';
import { DEFAULT_CONFIG } from '../model/vmm/config';

const native = new Map(expectedTranscript('sensitive').split('\n').map((l) => [testName(l), l] as const));
const run = runMeso('sensitive', 2_000_000);
const meso = new Map(run.text.split('\n').map((l) => [testName(l), l] as const));

describe('sensitive kernel, meso build, under the monitor', () => {
  test('it runs the CPL-0 tests at ring 1 and stops at the kernel-ring HLT', () => {
    expect(meso.size).toBeGreaterThan(60);
    expect(run.ending).toBe('halted for good');
  });

  // emulated by the monitor: the guest sees what ring 0 sees natively
  for (const name of ['mov eax,cr0', 'mov cr3,eax', 'lgdt', 'lidt', 'lldt', 'clts', 'invlpg', 'lmsw', 'smsw', 'sldt', 'pushf']) {
    test(`sens 0 ${name}: as native (trapped and emulated)`, () => {
      expect(meso.get(`sens 0 ${name}`)).toBe(native.get(`sens 0 ${name}`));
    });
  }

  test('SGDT and SIDT show the monitor\'s real tables, above the VMM base (documented divergence)', () => {
    for (const name of ['sgdt', 'sidt']) {
      const base = Number.parseInt(/a=([0-9a-f]{8})/.exec(meso.get(`sens 0 ${name}`) ?? '')![1]!, 16);
      expect(base).toBeGreaterThanOrEqual(DEFAULT_CONFIG.vmmBase);
      expect(native.get(`sens 0 ${name}`)).toMatch(/a=00[0-9a-f]{6} /); // natively the guest's own, low in memory
    }
  });

  test('PUSH CS shows the harness at RPL 1 (documented divergence)', () => {
    expect(native.get('sens 0 push cs')).toMatch(/a=00000008 /);
    expect(meso.get('sens 0 push cs')).toMatch(/a=00000009 /);
  });
});
