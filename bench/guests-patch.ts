// Patch size of a build of the teaching kernel against the native build:
// the code lines (no blanks, no comment-only lines, no conditional
// directives) that one build assembles and the other does not. A small
// model of NASM's conditionals over %ifdef/%ifndef/%elifdef/%else/%endif,
// following %include lines, so that files included by one build only count
// whole.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const DIRECTIVE = /^\s*%(ifdef|ifndef|elifdef|elifndef|else|endif|if|elif)\b\s*([A-Za-z_.$?][\w.$?#@~]*)?/i;
const DEFINE = /^\s*%define\s+([A-Za-z_][\w]*)/i;
const INCLUDE = /^\s*%include\s+"([^"]+)"/i;

const isCode = (line: string): boolean => {
  const t = line.replace(/;.*$/, '').trim();
  return t.length > 0 && !DIRECTIVE.test(line);
};

/** The code lines (file:line) a build assembles; `%if EXPR` is taken as true in both arms (counted for every build alike). */
export function assembledLines(mainFile: string, defines: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  const defs = new Set(defines);
  const visit = (file: string): void => {
    const lines = readFileSync(file, 'utf8').split('\n');
    const stack: Array<{ active: boolean; taken: boolean; known: boolean }> = [];
    const active = (): boolean => stack.every((f) => f.active);
    lines.forEach((line, i) => {
      const d = DIRECTIVE.exec(line);
      if (d !== null) {
        const kind = d[1]!.toLowerCase(), name = d[2] ?? '';
        if (kind === 'ifdef' || kind === 'ifndef') {
          const v = defs.has(name) === (kind === 'ifdef');
          stack.push({ active: v, taken: v, known: true });
        } else if (kind === 'if') stack.push({ active: true, taken: true, known: false });
        else if (kind === 'elifdef' || kind === 'elifndef' || kind === 'elif') {
          const top = stack[stack.length - 1]!;
          const v = kind === 'elif' ? !top.known : defs.has(name) === (kind === 'elifdef');
          top.active = !top.taken && v; top.taken ||= v;
        } else if (kind === 'else') { const top = stack[stack.length - 1]!; top.active = !top.known || !top.taken; top.taken = true; }
        else if (kind === 'endif') stack.pop();
        return;
      }
      if (!active()) return;
      const def = DEFINE.exec(line);
      if (def !== null) defs.add(def[1]!);
      const inc = INCLUDE.exec(line);
      if (inc !== null) visit(join(dirname(file), inc[1]!));
      if (isCode(line)) out.add(`${file}:${i + 1}`);
    });
  };
  visit(mainFile);
  return out;
}

export interface BuildPatch {
  /** Code lines assembled only in this build. */
  readonly added: number;
  /** Code lines of the native build this one leaves out. */
  readonly removed: number;
  readonly lines: number;
}

export function patchAgainstNative(mainFile: string, defines: readonly string[], base: readonly string[] = []): BuildPatch {
  const native = assembledLines(mainFile, new Set(base));
  const build = assembledLines(mainFile, new Set([...base, ...defines]));
  const added = [...build].filter((l) => !native.has(l)).length;
  const removed = [...native].filter((l) => !build.has(l)).length;
  return { added, removed, lines: added + removed };
}
