// Runs test/host/alu-oracle.c — the real instruction on the host CPU — on a
// batch of inputs. The binary is compiled once per source version into the
// system temp directory.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inCI, oracleAvailable } from '../../properties/tools';

export interface OracleInput {
  readonly op: string;
  readonly size: 8 | 16 | 32;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly flags: number;
}

export interface OracleOutput {
  readonly result: number;
  readonly result2: number;
  readonly flags: number;
  /** The instruction raised #DE. */
  readonly divideError: boolean;
}

const source = join(dirname(fileURLToPath(import.meta.url)), 'alu-oracle.c');

/** Whether the host-CPU oracle can run here (gcc on an x86-64 host). Outside
 * CI a missing tool skips; under CI it is an error (properties/tools.ts). */
export function hostOracleAvailable(): boolean {
  if (process.arch !== 'x64') {
    if (inCI()) throw new Error('the host-CPU oracle needs an x86-64 host, and CI requires it');
    process.stderr.write('[skip] not an x86-64 host: host-CPU oracle skipped\n');
    return false;
  }
  return oracleAvailable('gcc');
}

function oracleBinary(): string {
  const text = readFileSync(source);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const binary = join(tmpdir(), `mesovirt-alu-oracle-${hash}`);
  if (!existsSync(binary)) {
    const temporary = `${binary}.${process.pid}.tmp`;
    execFileSync('gcc', ['-O1', '-o', temporary, source], { stdio: 'pipe' });
    renameSync(temporary, binary);
  }
  return binary;
}

const hex = (n: number): string => (n >>> 0).toString(16);

/** Run every input on the host CPU, in order. */
export function runOnHost(inputs: readonly OracleInput[]): OracleOutput[] {
  const text = inputs.map((i) => `${i.op} ${i.size} ${hex(i.a)} ${hex(i.b)} ${hex(i.c)} ${hex(i.flags)}\n`).join('');
  const out = execFileSync(oracleBinary(), { input: text, maxBuffer: 1 << 28 }).toString();
  const lines = out.trim().split('\n');
  if (lines.length !== inputs.length) throw new Error(`alu-oracle answered ${lines.length} of ${inputs.length} inputs`);
  return lines.map((line) => {
    const [r, r2, f, fault] = line.split(' ');
    return { result: parseInt(r!, 16), result2: parseInt(r2!, 16), flags: parseInt(f!, 16), divideError: fault === '1' };
  });
}
