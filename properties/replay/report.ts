// What a differential failure prints, and how its replay file is written:
// seed and path, the instruction stream as a disassembled listing, the two
// machines' states after the step that differed (differing fields marked),
// and the replay file's path. Files are written whole: to a temporary file
// in the same directory, then renamed.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommonState } from '../../model/machine';
import { scenarioListing } from '../diff/scenario';
import { REPLAY_FORMAT, serializeReplay, type Replay } from './format';

export const DEFAULT_REPLAY_DIR = '.replays';

/** Write `text` to `path` atomically (temporary file, then rename). */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Write a replay file under `dir`; returns its path. */
export function writeReplay(replay: Omit<Replay, 'format'>, dir = DEFAULT_REPLAY_DIR): string {
  mkdirSync(dir, { recursive: true });
  const name = `diff-${replay.seed >>> 0}-${(replay.path ?? replay.origin).replace(/[^A-Za-z0-9]+/g, '_').slice(0, 40)}-${Date.now()}.json`;
  const path = resolve(join(dir, name));
  writeFileAtomic(path, serializeReplay({ format: REPLAY_FORMAT, ...replay }));
  return path;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** Leaf fields of a common state as [name, text]. */
function leaves(s: CommonState): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (path: string, v: unknown): void => {
    if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) walk(path ? `${path}.${k}` : k, x);
      return;
    }
    out.push([path, typeof v === 'number' ? hex(v) : String(v)]);
  };
  walk('', s);
  return out;
}

/** Both states side by side; a line whose values differ is marked with '!'. */
export function statesSideBySide(a: CommonState, b: CommonState, names: readonly [string, string]): string {
  const left = leaves(a), right = new Map(leaves(b));
  const lines = [`    ${'field'.padEnd(22)} ${names[0].padEnd(12)} ${names[1]}`];
  for (const [field, value] of left) {
    const other = right.get(field) ?? '(absent)';
    lines.push(`  ${value === other ? ' ' : '!'} ${field.padEnd(22)} ${value.padEnd(12)} ${other}`);
  }
  return lines.join('\n');
}

/** The full report of one replay (found or re-run). */
export function describeReplay(r: Omit<Replay, 'format'>, replayPath: string | null): string {
  const f = r.failure;
  const [a, b] = r.machines;
  return [
    `differential failure (${r.origin}): ${a} and ${b} disagree`,
    `seed ${r.seed}${r.path !== null ? `, path "${r.path}"` : ''}`,
    `program (${r.scenario.steps} steps compared at most):`,
    scenarioListing(r.scenario.code),
    `step ${f.step} at eip ${hex(f.eip)} differs:`,
    ...f.differences.map((d) => `  ${d}`),
    `events: ${a} ${JSON.stringify(f.events[0])}, ${b} ${JSON.stringify(f.events[1])}`,
    'states after that step (! marks a differing field):',
    statesSideBySide(f.states[0], f.states[1], [a, b]),
    ...(replayPath !== null ? [`replay file: ${replayPath}`, `run it again: node bin/mesovirt.js replay ${replayPath}`] : []),
  ].join('\n');
}
