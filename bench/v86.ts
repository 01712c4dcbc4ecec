// Runs a benchmark image on v86 (the npm package), in this process.
//
// v86 loads a Multiboot kernel itself when given `multiboot: { buffer }` and
// no BIOS, and starts it in flat 32-bit protected mode (checked facts in
// ../shared/PEERS.md). We hook port 0xE9 to collect the console and port
// 0xF4 to stop the run, and read v86's retired-instruction counter, which is
// 32 bits wide and wraps, so it is sampled often and the wraps are summed.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

export interface ExternalRun {
  readonly output: string;
  readonly ms: number;
  /** Instructions the emulator itself says it retired (null if it cannot say). */
  readonly instructions: number | null;
}

interface V86Instance {
  add_listener(event: string, f: () => void): void;
  run(): Promise<void> | void;
  stop(): Promise<void> | void;
  destroy(): Promise<void> | void;
  get_instruction_counter(): number;
  v86: { cpu: {
    io: { register_write(port: number, device: unknown, w8: (byte: number) => void): void };
    reset_cpu(): void;
    load_multiboot(buffer: ArrayBuffer): void;
  } };
}

type V86Constructor = new (options: Record<string, unknown>) => V86Instance;

let loaded: { V86: V86Constructor; wasmPath: string } | null | undefined;

/** The v86 constructor, or null when the package is not installed. */
export async function loadV86(): Promise<{ V86: V86Constructor; wasmPath: string } | null> {
  if (loaded !== undefined) return loaded;
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve('v86');
    const wasmPath = main.replace(/libv86\.m?js$/, 'v86.wasm');
    if (!existsSync(wasmPath)) throw new Error('no v86.wasm');
    const mod = (await import('v86')) as unknown as { V86?: V86Constructor; default?: { V86?: V86Constructor } };
    const V86 = mod.V86 ?? mod.default?.V86;
    loaded = V86 === undefined ? null : { V86, wasmPath };
  } catch {
    loaded = null;
  }
  return loaded;
}

/** Boots `image` on a fresh v86 and runs it to the exit port, `times` times
 * on the same instance: the first run is v86 cold (a fresh emulator, its
 * JIT and V8's code for it not yet warm), each later one reloads the image
 * into the same instance (cpu.reset_cpu and cpu.load_multiboot, as v86 does
 * at boot without a BIOS) and is v86 warm. Each time is from the first
 * instruction (after the emulator is loaded or the image reloaded) to the exit. */
export async function runOnV86(image: Uint8Array, timeoutMs = 600_000, times = 1): Promise<ExternalRun[]> {
  const lib = await loadV86();
  if (lib === null) throw new Error('v86 is not installed');
  const buffer = Uint8Array.from(image).buffer;
  const emulator = new lib.V86({
    wasm_path: lib.wasmPath,
    memory_size: 64 * 1024 * 1024,
    vga_memory_size: 2 * 1024 * 1024,
    multiboot: { buffer },
    autostart: false,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
    log_level: 0,
  });
  await new Promise<void>((resolve) => emulator.add_listener('emulator-loaded', () => resolve()));
  let out: number[] = [];
  let total = 0;
  let last = emulator.get_instruction_counter() >>> 0;
  const sample = (): void => {
    const now = emulator.get_instruction_counter() >>> 0;
    total += (now - last) >>> 0; // modulo 2^32: one wrap at most between samples
    last = now;
  };
  let exited: (() => void) | null = null;
  const hook = (): void => {
    emulator.v86.cpu.io.register_write(0xe9, null, (byte) => { out.push(byte); });
    emulator.v86.cpu.io.register_write(0xf4, null, () => { exited?.(); });
  };
  hook();
  const runs: ExternalRun[] = [];
  try {
    for (let k = 0; k < times; k++) {
      if (k > 0) {
        await emulator.stop();
        emulator.v86.cpu.reset_cpu();
        emulator.v86.cpu.load_multiboot(buffer); // (it registers its own exit port handler again)
        hook();
        out = [];
      }
      sample();
      total = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finished = new Promise<number>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`v86 run did not exit within ${timeoutMs} ms`)), timeoutMs);
        exited = () => { const end = performance.now(); clearTimeout(timer); resolve(end); };
      });
      const sampler = setInterval(sample, 20);
      const start = performance.now();
      await emulator.run();
      let end: number;
      try {
        end = await finished;
      } finally {
        clearInterval(sampler);
        sample();
      }
      runs.push({ output: Buffer.from(out).toString('latin1'), ms: end - start, instructions: total });
    }
  } finally {
    await emulator.stop();
    await emulator.destroy();
  }
  return runs;
}
