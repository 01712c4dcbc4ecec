// Which machine a case check runs on. The machines live in
// properties/machines/ (model.ts: createModelMachine, impl.ts:
// createImplMachine); they are loaded by name so that this file does not
// depend on a machine that is not built yet, and a missing one is a clear
// user error rather than a crash.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import type { Machine } from '../../model/machine';
import type { Exclusion } from './check';
import { parseCaseFile, type CpuCase } from './codec';

export type MachineKind = 'model' | 'impl';
export const MACHINE_KINDS: readonly MachineKind[] = ['model', 'impl'];

/** Physical memory the case layout needs: system pages plus a few frames. */
export const CASE_MEMORY_BYTES = 1 << 20;

export async function createCaseMachine(kind: MachineKind): Promise<Machine> {
  const modulePath = `../machines/${kind}`;
  const factoryName = kind === 'model' ? 'createModelMachine' : 'createImplMachine';
  let module: Record<string, unknown>;
  try {
    module = (await import(modulePath)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`the ${kind} machine is not available (properties/machines/${kind}.ts): ${(e as Error).message}`);
  }
  const factory = module[factoryName];
  if (typeof factory !== 'function') throw new Error(`properties/machines/${kind}.ts does not export ${factoryName}`);
  return (factory as (memorySize: number) => Machine)(CASE_MEMORY_BYTES);
}

const ExclusionList = t.array(t.strict({ name: t.string, reason: t.string }));

/** Read an exclusion list (cases/EXCLUDED.json): every entry names a case
 * and says why it is excluded. A missing file means no exclusions. */
export function readExclusions(path: string): Exclusion[] {
  if (!existsSync(path)) return [];
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: malformed JSON: ${(e as Error).message}`);
  }
  const decoded = ExclusionList.decode(json);
  if (isLeft(decoded)) throw new Error(`${path}: expected a list of {"name", "reason"} objects`);
  const blank = decoded.right.find((e) => e.reason.trim() === '');
  if (blank !== undefined) throw new Error(`${path}: exclusion of '${blank.name}' gives no reason`);
  return decoded.right;
}

/** Every case of every `.jsonl` file in a folder, files in name order; a
 * malformed file is an error naming its lines. */
export function readCaseFolder(folder: string): CpuCase[] {
  return readdirSync(folder).filter((f) => f.endsWith('.jsonl')).sort().flatMap((file) => {
    const parsed = parseCaseFile(readFileSync(join(folder, file), 'utf8'), join(folder, file));
    if (parsed.kind === 'invalid') throw new Error(parsed.errors.join('\n'));
    return [...parsed.cases];
  });
}
