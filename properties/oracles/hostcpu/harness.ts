// Building and running the native harness (harness.c), and assembling case
// sources with nasm. Both tools are outside oracles: nothing here trusts
// mesovirt's own assembler or machines.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Line } from './template';

const HARNESS_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'harness.c');

/** Whether the harness can be built here (gcc present and working). */
export function canBuildHarness(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Compile harness.c into a temp directory (cached by the source's hash). */
export function buildHarness(): string {
  const source = readFileSync(HARNESS_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'mesovirt-hostcpu');
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, `harness-${hash}`);
  if (existsSync(binary)) return binary;
  const temp = `${binary}.${process.pid}.tmp`;
  execFileSync('gcc', ['-O1', '-Wall', '-o', temp, HARNESS_SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
  renameSync(temp, binary);
  return binary;
}

export interface AssembledCase {
  /** Bytes of the whole case, and the offset of each instruction boundary
   * (the first is 0, the last is the length). */
  readonly bytes: Uint8Array;
  readonly boundaries: readonly number[];
}

/** Assemble many cases in one nasm run. Each case is a list of lines; the
 * result gives, per case, its bytes and instruction boundaries. */
export function assembleCases(cases: readonly (readonly Line[])[], bits: 32 | 64, workDir: string): AssembledCase[] {
  const out: string[] = [`bits ${bits}`];
  const table: string[] = [];
  cases.forEach((lines, i) => {
    out.push(`c${i}:`);
    let k = 0;
    for (const line of lines) {
      const text = typeof line === 'string' ? line : bits === 32 ? line.b32 : line.b64;
      if (text.endsWith(':')) { out.push(text); continue; }
      out.push(`.b${k}: ${text}`);
      table.push(`c${i}.b${k}`);
      k++;
    }
    out.push(`.b${k}:`);
    table.push(`c${i}.b${k}`);
  });
  out.push('boundary_table:');
  for (let i = 0; i < table.length; i += 16) out.push(`dd ${table.slice(i, i + 16).join(', ')}`);
  mkdirSync(workDir, { recursive: true });
  const asmFile = join(workDir, `cases${bits}.asm`);
  const binFile = join(workDir, `cases${bits}.bin`);
  writeFileSync(asmFile, out.join('\n') + '\n');
  try {
    execFileSync('nasm', ['-f', 'bin', '-o', binFile, asmFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
    throw new Error(`nasm failed on the generated ${bits}-bit source ${asmFile}:\n${stderr.slice(0, 2000)}`);
  }
  const image = new Uint8Array(readFileSync(binFile));
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const tableStart = image.length - table.length * 4;
  const offsets = Array.from({ length: table.length }, (_, i) => view.getUint32(tableStart + 4 * i, true));
  const result: AssembledCase[] = [];
  let t = 0;
  for (const lines of cases) {
    const count = lines.filter((l) => !(typeof l === 'string' && l.endsWith(':'))).length + 1;
    const mine = offsets.slice(t, t + count);
    t += count;
    const start = mine[0]!;
    result.push({ bytes: image.slice(start, mine[count - 1]!), boundaries: mine.map((o) => o - start) });
  }
  return result;
}

/** What the harness reports for one case. */
export interface NativeResult {
  readonly status: 'done' | 'fault' | 'timeout' | 'error';
  readonly trapNumber: number;
  readonly errorCode: number;
  readonly cr2: number;
  /** eax ecx edx ebx esp ebp esi edi eip eflags */
  readonly regs: readonly number[];
  readonly mem: readonly string[];
}

export interface NativeRequest {
  readonly codeAddr: number;
  readonly code: Uint8Array;
  /** eax ecx edx ebx esp ebp esi edi */
  readonly regs: readonly number[];
  readonly eflags: number;
  readonly mem: readonly { readonly addr: number; readonly bytes: Uint8Array }[];
}

const hex = (n: number): string => (n >>> 0).toString(16);
const bytesHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Run requests through the harness, one process for the whole batch. */
export function runNative(harness: string, requests: readonly NativeRequest[]): NativeResult[] {
  const input = requests
    .map((r) => ['C', hex(r.codeAddr), bytesHex(r.code), ...r.regs.map(hex), hex(r.eflags), hex(r.mem.length),
      ...r.mem.flatMap((m) => [hex(m.addr), bytesHex(m.bytes)])].join(' '))
    .join('\n') + '\n';
  const output = execFileSync(harness, { input, maxBuffer: 1 << 28 }).toString();
  const lines = output.split('\n').filter((l) => l !== '');
  if (lines.length !== requests.length) {
    throw new Error(`the native harness answered ${lines.length} of ${requests.length} cases`);
  }
  return lines.map((line) => {
    const f = line.split(' ');
    if (f[0] === 'E') return { status: 'error', trapNumber: 0, errorCode: 0, cr2: 0, regs: [], mem: [] };
    const num = (i: number): number => parseInt(f[i]!, 16) >>> 0;
    const status = f[1] === 'D' ? 'done' : f[1] === 'F' ? 'fault' : 'timeout';
    const nmem = num(15);
    return {
      status, trapNumber: num(2), errorCode: num(3), cr2: num(4),
      regs: Array.from({ length: 10 }, (_, i) => num(5 + i)),
      mem: f.slice(16, 16 + nmem),
    };
  });
}
