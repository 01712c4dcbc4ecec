// The whole benchmark run behind `mesovirt bench`: every kernel on every
// machine in one process and one sitting, so that the ratios compare figures
// measured under the same load. Optional machines (v86, QEMU) and optional
// measurements (decoder, differential) that are missing are recorded as
// missing with the reason, never as a failure. A run that prints the wrong
// checksum is recorded as wrong, and its time is not used for a ratio.
import { existsSync } from 'node:fs';
import { KERNELS, SIZES, buildKernel, type Kernel } from './kernels';
import { MEMORY_SIZE, bootImage, runGuest } from './guest-run';
import { summarize, perSecond, type Timing } from './measure';
import { loadV86, runOnV86 } from './v86';
import { qemuInstalled, runOnQemu } from './qemu';

export interface Options {
  readonly quick: boolean;
  /** The sizes of issue 17 (alu 540 M, sieve 185 M, syscall 35 M instructions), where v86's JIT is warm. */
  readonly long?: boolean;
  readonly only: Kernel['name'] | null;
  readonly runs: number;
  /** Told what is being measured now, and the fraction done of it. */
  readonly progress: (task: string) => void;
}

export type Missing = { readonly status: 'missing'; readonly reason: string };
export type Wrong = { readonly status: 'wrong'; readonly expected: string; readonly got: string; readonly ending?: string };

export interface Measured {
  readonly status: 'ok';
  readonly work: number;
  /** Retired instructions of one run, as our impl counts them (the same
   * image, so the same count for every machine that runs it). */
  readonly instructions: number;
  readonly timing: Timing;
  /** Millions of instructions per second, from the median and from the fastest run. */
  readonly mips: { readonly median: number; readonly best: number };
  /** What the machine itself says it retired, when it says (v86). */
  readonly ownInstructionCount?: number;
}

export type Figure = Measured | Missing | Wrong;

export interface KernelResult {
  readonly name: Kernel['name'];
  readonly describe: string;
  readonly model: Figure;
  readonly impl: Figure;
  /** impl's first run of the image in this process (untimed in `impl`: its blocks compile and V8 warms up). */
  readonly implFirstRunMs?: number;
  /** The model's untimed runs before its timed ones (V8 warms up): how
   * many, their time in all, and the first (cold) run's time. */
  readonly modelWarmUp?: { readonly runs: number; readonly ms: number; readonly firstRunMs: number };
  /** v86 cold: a fresh emulator, its first run of the image. */
  readonly v86: Figure;
  /** v86 warm: the second run of the image on the same instance (reloaded into it). */
  readonly v86Warm: Figure;
  readonly qemu: Figure & { readonly startupMs?: number };
  readonly qemuIcount: Figure;
  /** Speed of impl over the other machine on the same image (median times):
   * above 1, impl is faster. Null when either figure is missing. */
  readonly ratios: { readonly implOverV86: number | null; readonly implOverV86Warm: number | null; readonly implOverQemu: number | null };
}

export interface BenchResults {
  readonly timestamp: string;
  readonly quick: boolean;
  readonly long?: boolean;
  readonly runs: number;
  readonly host: { readonly node: string; readonly platform: string; readonly cpus: number };
  readonly kernels: readonly KernelResult[];
  readonly decoder: { readonly status: 'ok'; readonly instructionsPerSecond: { readonly min: number; readonly median: number }; readonly instructions: number } | Missing;
  readonly differential: { readonly status: 'ok'; readonly steps: number; readonly stepsPerSecond: number; readonly guest: string } | Missing | { readonly status: 'diverged'; readonly step: number; readonly differences: readonly string[] };
}

/** How long the model runs untimed before its timed runs (benchKernel): at
 * least this many runs, and at least this long. */
const MODEL_WARM_UP_RUNS = 3;
const MODEL_WARM_UP_MS = 1000;
/** Timed runs of the model at least (but with --quick): its runs are short
 * (50 to 150 ms), and on a shared machine three of them give a median that
 * moves by a third from one bench to the next. */
const MODEL_TIMED_RUNS = 9;

const measured = (work: number, instructions: number, samples: readonly number[], own?: number): Measured => {
  const timing = summarize(samples);
  return {
    status: 'ok', work, instructions, timing,
    mips: { median: perSecond(instructions, timing.medianMs) / 1e6, best: perSecond(instructions, timing.minMs) / 1e6 },
    ...(own === undefined ? {} : { ownInstructionCount: own }),
  };
};

const missing = (reason: string): Missing => ({ status: 'missing', reason });

/** Runs `once` `runs` times, checking each run's console line. */
async function repeat(runs: number, expected: string,
  once: () => Promise<{ output: string; ms: number; ending?: string }>): Promise<{ samples: number[] } | Wrong> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await once();
    if (r.output !== expected || (r.ending !== undefined && r.ending !== 'exit')) {
      return { status: 'wrong', expected, got: r.output, ...(r.ending === undefined ? {} : { ending: r.ending }) };
    }
    samples.push(r.ms);
  }
  return { samples };
}

const ratio = (impl: Figure, other: Figure): number | null =>
  impl.status === 'ok' && other.status === 'ok' ? other.timing.medianMs / impl.timing.medianMs : null;

async function benchKernel(kernel: Kernel, options: Options, qemuStartup: number | null): Promise<KernelResult> {
  const sizes = SIZES[kernel.name][options.quick ? 'quick' : options.long === true ? 'long' : 'full'];
  const step = (what: string): void => options.progress(`${kernel.name}: ${what}`);

  // Our machines. The model gets a smaller size; MIPS make it comparable.
  const modelImage = buildKernel(kernel, sizes.model);
  step('model');
  // Untimed runs first, as for impl below, until V8 is warm: the model is a
  // few hundred small functions that V8 optimizes one by one (and
  // deoptimizes as a kernel moves from its set-up to paging, ring 3 and
  // exceptions), so at these sizes one run is not enough (the second and
  // third are still about twice as slow as later ones); campaigns and lock
  // steps run it warm. MODEL_WARM_UP_RUNS runs at least, and until
  // MODEL_WARM_UP_MS have passed.
  const warmUp = { runs: 0, ms: 0, firstRunMs: 0 };
  while (warmUp.runs < MODEL_WARM_UP_RUNS || warmUp.ms < MODEL_WARM_UP_MS) {
    const ms = runGuest('model', modelImage).ms;
    if (warmUp.runs === 0) warmUp.firstRunMs = ms;
    warmUp.runs++;
    warmUp.ms += ms;
  }
  let modelCount = 0;
  const modelRuns = await repeat(options.quick ? options.runs : Math.max(options.runs, MODEL_TIMED_RUNS), kernel.expected(sizes.model), async () => {
    const r = runGuest('model', modelImage);
    modelCount = r.instructions;
    return r;
  });
  const model: Figure = 'samples' in modelRuns ? measured(sizes.model, modelCount, modelRuns.samples) : modelRuns;

  const image = buildKernel(kernel, sizes.fast);
  const expected = kernel.expected(sizes.fast);
  step('impl');
  // One untimed run first, as v86 warm follows its cold run: impl's first
  // run in a process also compiles its blocks and V8 tiers them up (and
  // deoptimizes them on paths not yet taken); later machines reuse the
  // compiled blocks (blocks.ts caches them by their bytes). Its time is
  // reported beside the figures, not in them.
  const firstRun = runGuest('impl', image);
  let count = 0;
  const implRuns = await repeat(options.runs, expected, async () => {
    const r = runGuest('impl', image);
    count = r.instructions;
    return r;
  });
  const impl: Figure = 'samples' in implRuns ? measured(sizes.fast, count, implRuns.samples) : implRuns;

  // The same image on v86, in this process: each timed run is a fresh
  // emulator's first run (cold) and then a second run on that instance (warm).
  step('v86');
  let v86: Figure, v86Warm: Figure;
  if ((await loadV86()) === null) v86 = v86Warm = missing('the v86 npm package is not installed (npm install --save-dev v86)');
  else {
    let own = 0, ownWarm = 0;
    const warmRuns: Array<{ output: string; ms: number }> = [];
    const runs = await repeat(options.runs, expected, async () => {
      const [cold, warm] = await runOnV86(image, 600_000, 2);
      own = cold!.instructions ?? 0;
      ownWarm = warm!.instructions ?? 0;
      warmRuns.push(warm!);
      return cold!;
    });
    v86 = 'samples' in runs ? measured(sizes.fast, count, runs.samples, own) : runs;
    const wrongWarm = warmRuns.find((r) => r.output !== expected);
    v86Warm = wrongWarm !== undefined ? { status: 'wrong', expected, got: wrongWarm.output }
      : 'samples' in runs ? measured(sizes.fast, count, warmRuns.map((r) => r.ms), ownWarm) : runs;
  }

  // The same image on QEMU TCG, from the kernel's first console byte to the
  // process's end (bench/qemu.ts); and once more with -icount.
  step('qemu');
  let qemu: KernelResult['qemu'];
  let qemuIcount: Figure;
  if (qemuStartup === null) {
    qemu = missing('qemu-system-i386 is not installed');
    qemuIcount = qemu;
  } else {
    const plain = await repeat(options.runs, expected, () => runOnQemu(image));
    qemu = 'samples' in plain ? { ...measured(sizes.fast, count, plain.samples), startupMs: qemuStartup } : plain;
    step('qemu -icount');
    const counted = await repeat(options.runs, expected, () => runOnQemu(image, { icount: true }));
    qemuIcount = 'samples' in counted ? measured(sizes.fast, count, counted.samples) : counted;
  }
  return {
    name: kernel.name, describe: kernel.describe, model, modelWarmUp: warmUp, impl, implFirstRunMs: firstRun.ms, v86, v86Warm, qemu, qemuIcount,
    ratios: { implOverV86: ratio(impl, v86), implOverV86Warm: ratio(impl, v86Warm), implOverQemu: ratio(impl, qemu) },
  };
}

/** QEMU's start-up, for information: the fastest of several whole runs of an
 * image that exits at once. */
async function qemuStartupMs(): Promise<number | null> {
  if (!qemuInstalled()) return null;
  const alu = KERNELS.find((k) => k.name === 'alu')!;
  const image = buildKernel(alu, 1);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await runOnQemu(image);
    if (r.output !== alu.expected(1)) throw new Error(`QEMU start-up image printed ${JSON.stringify(r.output)}`);
    samples.push(r.wholeMs);
  }
  return Math.min(...samples);
}

async function benchDifferential(quick: boolean): Promise<BenchResults['differential']> {
  const path = new URL('../properties/diff/lockstep.ts', import.meta.url);
  if (!existsSync(path)) return missing('properties/diff/lockstep.ts does not exist yet');
  type Lockstep = typeof import('../properties/diff/lockstep');
  let mod: Lockstep;
  try {
    mod = (await import(path.href)) as Lockstep;
  } catch (e) {
    return missing(`properties/diff/lockstep.ts does not load: ${(e as Error).message}`);
  }
  // Lock-step over a whole guest: the sieve at the model's size.
  const sieve = KERNELS.find((k) => k.name === 'sieve')!;
  const work = SIZES.sieve[quick ? 'quick' : 'full'].model;
  const image = buildKernel(sieve, work);
  const model = bootImage('model', image);
  const impl = bootImage('impl', image);
  const start = performance.now();
  const r = mod.lockstep(model, impl, 50_000_000);
  const ms = performance.now() - start;
  if (r.divergence !== null) return { status: 'diverged', step: r.divergence.step, differences: r.divergence.differences };
  return { status: 'ok', steps: r.steps, stepsPerSecond: perSecond(r.steps, ms), guest: `sieve, SIEVE_SIZE=${work}` };
}

async function benchDecoderIfThere(quick: boolean): Promise<BenchResults['decoder']> {
  const path = new URL('./decoder.ts', import.meta.url);
  if (!existsSync(path)) return missing('bench/decoder.ts does not exist');
  const mod = (await import(path.href)) as typeof import('./decoder');
  const r = await mod.benchDecoder(quick ? 5 : 7, quick ? 20_000 : 50_000);
  return { status: 'ok', instructionsPerSecond: r.instructionsPerSecond, instructions: r.instructions };
}

export async function runBench(options: Options): Promise<BenchResults> {
  const kernels = KERNELS.filter((k) => options.only === null || k.name === options.only);
  options.progress('QEMU start-up');
  const startup = await qemuStartupMs();
  const results: KernelResult[] = [];
  for (const k of kernels) results.push(await benchKernel(k, options, startup));
  options.progress('decoder');
  const decoder = await benchDecoderIfThere(options.quick);
  options.progress('differential');
  const differential = await benchDifferential(options.quick);
  return {
    timestamp: new Date().toISOString(),
    quick: options.quick,
    long: options.long === true,
    runs: options.runs,
    host: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: (await import('node:os')).cpus().length },
    kernels: results,
    decoder,
    differential,
  };
}

export { MEMORY_SIZE };
