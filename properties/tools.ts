// Outside oracles (nasm, objdump, qemu, gcc -m32, bochs). A test that needs
// one may skip only when the tool is missing and CI is not set; under CI a
// missing tool is a failure, so an oracle can never silently stop checking.
import { execFileSync } from 'node:child_process';

export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const inCI = (): boolean => process.env.CI !== undefined && process.env.CI !== '';

/**
 * Whether an oracle test should run. Returns false (after printing why) only
 * outside CI with the tool missing; throws inside CI with the tool missing.
 */
export function oracleAvailable(tool: string): boolean {
  if (hasTool(tool)) return true;
  if (inCI()) throw new Error(`oracle '${tool}' is not installed, and CI requires it (see .ci/run)`);
  process.stderr.write(`[skip] '${tool}' is not installed: oracle test skipped (it runs in CI)\n`);
  return false;
}
