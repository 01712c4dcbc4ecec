// `mesovirt bench guests`, the measured part (bench/guests-gandalf.ts): one
// microbenchmark counted natively and under gandalf on impl. The checksum is
// the one derived by hand in test/bench-guests.test.ts (200 getpid calls of
// pid 1); what is asserted is what a wrong counter would get wrong, never a
// speed.
import { describe, expect, it } from 'vitest';
import { formatGandalfTable, gandalfRowCorrect, runOnImpl, type GandalfResults, type GandalfRow } from '../bench/guests-gandalf';

describe('bench guests, measured under gandalf', () => {
  it('null: the native run has no monitor instructions; under gandalf the same report, the guest\'s own instructions within a few percent of native, gandalf\'s counted, one STI exit per system call', () => {
    const native = runOnImpl('null', 'native');
    const meso = runOnImpl('null', 'meso/shadow-single');
    expect(native.report).toEqual({ iterations: 200, checksum: 200 });
    expect(meso.report).toEqual(native.report);
    expect(meso.end).toBe('exit 1');
    expect(native.monitorInstructions).toBe(0);
    expect(native.exits).toEqual({});
    // The meso kernel's patch adds an STI per return to ring 3 (and the window holds the same work).
    expect(Math.abs(meso.guestInstructions - native.guestInstructions) / native.guestInstructions).toBeLessThan(0.1);
    expect(meso.exits['emulate sti']).toBeGreaterThanOrEqual(200);
    // gandalf's instructions: at least one (its IRET) per exit counted.
    const exits = Object.values(meso.exits).reduce((a, b) => a + b, 0);
    expect(meso.monitorInstructions).toBeGreaterThan(exits);
  }, 60_000);

  it('the table: ratios against the native row of the same benchmark, a wrong report marked', () => {
    const row = (configuration: GandalfRow['configuration'], guest: number, monitor: number, checksum: number): GandalfRow => ({
      bench: 'cpu', configuration, guestInstructions: guest, monitorInstructions: monitor, directEvents: 0, exits: {}, implMs: 1,
      qemuMs: 10, qemuIcountMs: null, report: { iterations: 4000, checksum }, end: 'exit 1',
    });
    const results: GandalfResults = { date: '', pitDivisor: '65535', qemuRuns: 1, totalWallMs: 0, rows: [row('native', 1000, 0, 7), row('meso/direct', 1100, 400, 7), row('meso/shadow-multi', 1000, 0, 8)] };
    const lines = formatGandalfTable(results).split('\n');
    expect(lines[3]).toMatch(/meso\/direct\s+1100\s+400\s+1\.50\s/); // (1100 + 400) / 1000
    expect(gandalfRowCorrect(results, results.rows[1]!)).toBe(true);
    expect(gandalfRowCorrect(results, results.rows[2]!)).toBe(false);
    expect(lines[4]).toContain(' NO ');
  });
});
