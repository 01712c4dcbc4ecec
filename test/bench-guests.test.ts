// `mesovirt bench guests`: the microbenchmarks print the checksums worked out
// here by hand (and QEMU prints the same for the native builds); one
// microbenchmark through every configuration gives a consistent table; the
// SVG chart is well-formed XML (parsed by Python's xml.etree, which nobody
// here wrote) and holds the numbers of the results; the patch counter agrees
// with patchSize on the meso patch; the cost model adds up as documented.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMicrobenchmark, CONFIGURATIONS, configurationName, MICROBENCHMARKS, parseReport, runMicrobenchmark, TEACH, type Microbenchmark } from '../bench/guests-run';
import { runGuestBench, saveGuestResults } from '../bench/guests';
import { costOf, COST } from '../bench/guests-cost';
import { formatGuestTable, guestChartSvg, type GuestResults } from '../bench/guests-report';
import { patchAgainstNative } from '../bench/guests-patch';
import { patchSize } from '../properties/patch-size';
import { oracleAvailable } from '../properties/tools';

/** The checksums, derived from the benchmark sources (guests/teach/lmbench/user.inc). */
function expectedReport(bench: Microbenchmark): { iterations: number; checksum: number } {
  switch (bench) {
    case 'null': return { iterations: 200, checksum: 200 * 1 }; // getpid of pid 1, 200 times
    case 'fault': { let s = 0; for (let i = 0; i < 48; i++) s += 3 * i + 1; return { iterations: 48, checksum: s }; }
    case 'ctxsw': return { iterations: 40, checksum: 40 }; // every yield returns 0
    case 'proc': return { iterations: 16, checksum: 16 * 2 }; // each child takes slot 2: pid 2
    case 'mmap': { let s = 0; for (let r = 1; r <= 12; r++) for (let c = 1; c <= 4; c++) s += r + c; return { iterations: 12, checksum: s }; }
    case 'cpu': { let x = 1; for (let i = 0; i < 4000; i++) x = (Math.imul(x, 1103515245) + 12345) >>> 0; return { iterations: 4000, checksum: x }; }
  }
}

describe('the microbenchmarks (guests/teach/lmbench)', () => {
  it.runIf(oracleAvailable('qemu-system-i386'))('each native build prints the expected report on QEMU', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmbench-'));
    for (const bench of MICROBENCHMARKS) {
      const image = join(dir, `${bench}.bin`);
      writeFileSync(image, buildMicrobenchmark(bench, { kind: 'native' }));
      const q = spawnSync('qemu-system-i386', ['-kernel', image, '-display', 'none', '-serial', 'none', '-monitor', 'none',
        '-debugcon', 'stdio', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-m', '64'], { encoding: 'latin1', timeout: 60_000 });
      expect(q.status, bench).toBe(1);
      expect(parseReport(q.stdout), bench).toEqual(expectedReport(bench));
    }
  }, 120_000);
});

describe('one microbenchmark in every configuration', () => {
  let results: GuestResults;
  beforeAll(() => { results = runGuestBench(['null']); }, 120_000);

  it('every configuration ran it to the end with the expected report', () => {
    expect(results.rows.map((r) => r.configuration)).toEqual(['native', 'meso/shadow-single', 'meso/shadow-multi', 'meso/direct', 'para/shadow-single', 'para/direct']);
    for (const row of results.rows) {
      expect(row.correct, row.configuration).toBe(true);
      expect(row.counts.report, row.configuration).toEqual(expectedReport('null'));
    }
  });

  it('native has no exits; meso exits on the STI before each return to ring 3; para returns with no exit (fast system-call gate)', () => {
    const row = (c: string) => results.rows.find((r) => r.configuration === c)!;
    expect(row('native').counts.exits).toEqual({});
    expect(row('native').counts.directEvents).toBeGreaterThanOrEqual(200); // each getpid is one INT 0x80
    expect(row('meso/shadow-single').counts.exits['emulate sti']).toBeGreaterThanOrEqual(200);
    for (const p of ['para/shadow-single', 'para/direct']) {
      expect(row(p).counts.exits['emulate sti'] ?? 0).toBe(0);
      expect(row(p).counts.directEvents).toBeGreaterThanOrEqual(200);
      expect(row(p).cost.cycles).toBeLessThan(row('meso/shadow-single').cost.cycles);
    }
  });

  it('the table names every configuration, the patch sizes and the machine', () => {
    const text = formatGuestTable(results);
    for (const c of ['native', 'meso/shadow-single', 'meso/shadow-multi', 'meso/direct', 'para/shadow-single', 'para/direct']) expect(text).toContain(c);
    expect(text).toContain(`meso ${results.patch.meso.lines}`);
    expect(text).toContain('machine: impl (the monitor of model/vmm over impl');
    expect(results.machine).toBe('impl');
  });

  it.runIf(oracleAvailable('python3'))('the SVG is well-formed XML (xml.etree) and its bars hold the cycles relative to native', () => {
    const dir = mkdtempSync(join(tmpdir(), 'guests-svg-'));
    const paths = saveGuestResults(results, dir);
    expect(JSON.parse(readFileSync(paths.json, 'utf8')).rows.length).toBe(results.rows.length);
    const script = [
      'import sys, json, xml.etree.ElementTree as ET',
      'root = ET.parse(sys.argv[1]).getroot()',
      'ns = "{http://www.w3.org/2000/svg}"',
      'print(json.dumps([r.attrib for r in root.iter(ns + "rect") if "data-ratio" in r.attrib]))',
    ].join('\n');
    const py = spawnSync('python3', ['-c', script, paths.svg], { encoding: 'utf8' });
    expect(py.stderr).toBe('');
    const bars = JSON.parse(py.stdout) as Array<Record<string, string>>;
    expect(bars.length).toBe(results.rows.length);
    const native = results.rows.find((r) => r.configuration === 'native')!.cost.cycles;
    for (const row of results.rows) {
      const bar = bars.find((b) => b['data-configuration'] === row.configuration && b['data-bench'] === row.bench)!;
      expect(Number(bar['data-ratio'])).toBeCloseTo(row.cost.cycles / native, 2);
      expect(Number(bar.height)).toBeGreaterThan(0);
    }
    // Taller bar, larger ratio.
    const sorted = [...bars].sort((a, b) => Number(a.height) - Number(b.height));
    for (let i = 1; i < sorted.length; i++) expect(Number(sorted[i]!['data-ratio'])).toBeGreaterThanOrEqual(Number(sorted[i - 1]!['data-ratio']));
  });

  it('escapes text: a chart of a name with markup characters still parses', () => {
    const odd: GuestResults = { ...results, rows: results.rows.map((r) => ({ ...r, bench: 'a<b&"c"' })) };
    const svg = guestChartSvg(odd);
    expect(svg).toContain('a&lt;b&amp;&quot;c&quot;');
    expect(svg).not.toContain('a<b');
  });
});

describe('patch sizes and the cost model', () => {
  it('the patch counter agrees with patchSize on the meso patch (two counters, one answer)', () => {
    const teach = join(TEACH, 'teach.asm');
    const meso = patchAgainstNative(teach, ['MESO']);
    const files = ['config.inc', 'interrupts.inc'].map((f) => readFileSync(join(TEACH, f), 'utf8'));
    const reference = files.map((text) => patchSize(text)).reduce((a, p) => ({ lines: a.lines + p.lines, mesoOnly: a.mesoOnly + p.mesoOnly, nativeOnly: a.nativeOnly + p.nativeOnly }), { lines: 0, mesoOnly: 0, nativeOnly: 0 });
    expect(meso).toEqual({ added: reference.mesoOnly, removed: reference.nativeOnly, lines: reference.lines });
    const para = patchAgainstNative(teach, ['PARA']);
    expect(para.lines).toBeGreaterThan(meso.lines * 5);
  });

  it('cycles = instructions + 75 per trap (direct or exit) + monitor work + 240 per TLB flush, worked by hand', () => {
    const c = costOf({ guestInstructions: 1000, directEvents: 10, exits: { 'emulate sti': 2, 'page fault': 1, 'hypercall mmu_update': 1, 'interrupt 32 held': 1 }, mmuRequests: 3, tlbFlushes: 2 });
    // monitor: 2*150 + 200 + 60 + 30 + 3*40 = 710; traps: (10 + 5) * 75 = 1125; flushes: 480
    expect(c.monitorInstructions).toBe(710);
    expect(c.cycles).toBe(1000 + 1125 + 710 + 480);
    expect(COST.trap.cycles).toBe(75);
  });

  it('runs a single configuration directly as well (para on direct paging, cpu)', () => {
    const r = runMicrobenchmark('cpu', { kind: 'para', memory: 'direct' });
    expect(r.report).toEqual(expectedReport('cpu'));
    expect(r.end).toBe('exit 1');
  }, 60_000);
});

describe('[VMM.EQ] every microbenchmark prints the same under the monitor, meso and para, as natively', () => {
  for (const bench of MICROBENCHMARKS) {
    it(`[PARA.EXIT.1] ${bench}: native, meso (shadow-single) and para (shadow-single, direct) transcripts are identical and carry the expected report`, () => {
      const native = runMicrobenchmark(bench, { kind: 'native' });
      expect(native.report).toEqual(expectedReport(bench));
      for (const c of [{ kind: 'meso', memory: 'shadow-single' } as const, { kind: 'para', memory: 'shadow-single' } as const, { kind: 'para', memory: 'direct' } as const]) {
        const r = runMicrobenchmark(bench, c);
        expect(r.console, `${bench} ${c.kind}`).toBe(native.console);
        expect(r.end).toBe('exit 1');
      }
    }, 60_000);
  }
});

describe('[VMM.EQ] bench guests counts the same on impl as on the model (the monitor hosted on each)', () => {
  for (const bench of ['null', 'fault'] as const) {
    it(`${bench}: every configuration, every count (instructions, direct events, exits by reason, MMU requests, TLB flushes), the transcript and the end`, () => {
      for (const c of CONFIGURATIONS) {
        const { wallMs: _m, ...model } = runMicrobenchmark(bench, c, 'model');
        const { wallMs: _i, ...impl } = runMicrobenchmark(bench, c, 'impl');
        expect(impl, `${bench} ${configurationName(c)}`).toEqual(model);
      }
    }, 120_000);
  }
});
