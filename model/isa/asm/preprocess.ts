// The preprocessor: source files in, logical lines out. It removes comments,
// joins `\` continuations, follows `%include`, keeps `%ifdef/%ifndef/%if/
// %elif/%else/%endif`, substitutes `%define` macros (object-like and with
// parameters), expands `%macro` calls (%0, %1…%N, %{N}, %%local labels) and
// `%rep` blocks, and makes strings with `%defstr`. Every output line keeps the file and line it came from; a
// line made by a macro call is placed at the call.
import { type AsmError, type ReadFile, asmError, resolveInclude } from './source';
import { isIdentChar, isIdentStart, tokenize } from './lexer';
import { evaluate, parseExpression } from './expression';

/** One logical line after preprocessing. */
export interface Line {
  readonly text: string;
  readonly file: string;
  readonly line: number;
  /** Set when the line comes from a macro body: the macro's name. */
  readonly macro?: string;
}

interface Define { readonly params: readonly string[] | null; readonly body: string }
interface Macro {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly greedy: boolean;
  readonly caseless: boolean;
  readonly body: readonly Line[];
}
interface Condition { readonly taking: boolean; readonly taken: boolean; readonly outerActive: boolean; readonly sawElse: boolean; readonly at: Line }

export interface Preprocessed { readonly lines: readonly Line[]; readonly errors: readonly AsmError[] }

const MAX_DEPTH = 64;

/** Removes a `;` comment, leaving strings alone. */
export function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (c === '\\' && quote === '`') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === ';') return text.slice(0, i);
  }
  return text;
}

/** Splits a file into physical lines, joining lines that end with `\`. */
function readLines(text: string, file: string): Line[] {
  const raw = text.split('\n');
  const lines: Line[] = [];
  for (let i = 0; i < raw.length; i++) {
    const first = i;
    let body = stripComment(raw[i]!.replace(/\r$/, ''));
    while (/\\\s*$/.test(body) && i + 1 < raw.length) {
      i++;
      body = body.replace(/\\\s*$/, '') + stripComment(raw[i]!.replace(/\r$/, ''));
    }
    lines.push({ text: body, file, line: first + 1 });
  }
  return lines;
}

/** Splits `a, b, {c, d}` at top-level commas (strings and braces kept whole). */
export function splitArguments(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = '';
  for (const c of text) {
    if (quote !== null) { if (c === quote) quote = null; current += c; continue; }
    if (c === "'" || c === '"' || c === '`') quote = c;
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (c === ',' && depth === 0) { args.push(current.trim()); current = ''; continue; }
    current += c;
  }
  args.push(current.trim());
  return args.map((a) => (/^\{.*\}$/s.test(a) ? a.slice(1, -1) : a));
}

/** Runs `f` over the identifiers of `text` that are outside strings. */
function mapIdentifiers(text: string, f: (name: string, rest: string) => { replacement: string; consumed: number } | null): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += c === '`' && text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (isIdentStart(c) && (i === 0 || !isIdentChar(text[i - 1]!) && text[i - 1] !== '%' && text[i - 1] !== '$')) {
      let j = i + 1;
      while (j < text.length && isIdentChar(text[j]!)) j++;
      const name = text.slice(i, j);
      const r = f(name, text.slice(j));
      if (r === null) out += name;
      else out += r.replacement;
      i = j + (r?.consumed ?? 0);
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[0-9A-Za-z_]/.test(text[j]!)) j++;
      out += text.slice(i, j);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Reads `(a, b)` at the start of `rest`: the arguments and the length used. */
function callArguments(rest: string): { args: string[]; consumed: number } | null {
  const m = /^\s*\(/.exec(rest);
  if (m === null) return null;
  let depth = 0;
  for (let i = m[0].length - 1; i < rest.length; i++) {
    if (rest[i] === '(') depth++;
    if (rest[i] === ')' && --depth === 0) return { args: splitArguments(rest.slice(m[0].length, i)), consumed: i + 1 };
  }
  return null;
}

export function preprocess(mainFile: string, readFile: ReadFile, predefined: Readonly<Record<string, string>> = {}): Preprocessed {
  const defines = new Map<string, Define>(Object.entries(predefined).map(([k, v]) => [k, { params: null, body: v }]));
  const macros = new Map<string, Macro>();
  const out: Line[] = [];
  const errors: AsmError[] = [];
  const conditions: Condition[] = [];
  let uniqueCounter = 0;

  const err = (at: Line, column: number, message: string): void => {
    errors.push(asmError({ file: at.file, line: at.line, column }, at.macro ? `${message} (in macro '${at.macro}')` : message));
  };
  const active = (): boolean => conditions.length === 0 || (conditions[conditions.length - 1]!.taking && conditions[conditions.length - 1]!.outerActive);

  /** Substitutes single-line macros until none is left (a macro is not
   * expanded inside its own expansion, so recursion stops). */
  const expandDefines = (text: string, busy: ReadonlySet<string> = new Set()): string =>
    mapIdentifiers(text, (name, rest) => {
      const d = defines.get(name);
      if (d === undefined || busy.has(name)) return null;
      const inner = new Set(busy).add(name);
      if (d.params === null) return { replacement: expandDefines(d.body, inner), consumed: 0 };
      const call = callArguments(rest);
      if (call === null || call.args.length !== d.params.length) return null;
      const args = call.args.map((a) => expandDefines(a, busy));
      const body = mapIdentifiers(d.body, (p) => {
        const k = d.params!.indexOf(p);
        return k < 0 ? null : { replacement: args[k]!, consumed: 0 };
      });
      return { replacement: expandDefines(body, inner), consumed: call.consumed };
    });

  const evaluateCondition = (line: Line, text: string, column: number): boolean => {
    const lexed = tokenize(expandDefines(text), line);
    if (lexed.kind === 'error') { errors.push(...lexed.errors); return false; }
    const parsed = parseExpression(lexed.value, 0);
    const fail = (c: number, m: string): boolean => { err(line, column + c - 1, m); return false; };
    if (parsed.kind === 'error') return fail(parsed.column, parsed.message);
    if (parsed.next !== lexed.value.length) return fail(lexed.value[parsed.next]!.column, 'unexpected text after the %if expression');
    const v = evaluate(parsed.expr, { symbol: () => undefined, here: { kind: 'unknown' }, sectionStart: { kind: 'unknown' }, final: true });
    if (v.kind === 'error') return fail(v.column, `${v.message} (a %if expression may use only numbers and %define'd names)`);
    return v.kind === 'known' && v.value.value !== 0n;
  };

  /** Collects the lines of a block up to its closing directive (nested
   * blocks of the same kind are kept whole). Returns the index after it. */
  const collectBlock = (lines: readonly Line[], from: number, open: RegExp, close: RegExp): { body: Line[]; next: number } | null => {
    let depth = 1;
    for (let i = from; i < lines.length; i++) {
      const t = lines[i]!.text.trim();
      if (open.test(t)) depth++;
      else if (close.test(t) && --depth === 0) return { body: lines.slice(from, i), next: i + 1 };
    }
    return null;
  };

  const expandMacro = (m: Macro, call: Line, label: string, argText: string, depth: number): void => {
    const args = argText.trim() === '' ? [] : splitArguments(argText);
    const greedyArgs = m.greedy && args.length > m.max ? [...args.slice(0, m.max - 1), args.slice(m.max - 1).join(', ')] : args;
    if (greedyArgs.length < m.min || greedyArgs.length > m.max) {
      const wanted = m.min === m.max ? `${m.min}` : m.greedy ? `at least ${m.min}` : `${m.min} to ${m.max}`;
      err(call, 1, `macro '${m.name}' takes ${wanted} argument${wanted === '1' ? '' : 's'}, got ${greedyArgs.length}`);
      return;
    }
    const unique = ++uniqueCounter;
    const substitute = (text: string): string =>
      text.replace(/%%([A-Za-z0-9_.?$#@~]+)|%\{(\d+)\}|%(\d+)/g, (_all, local: string | undefined, braced: string | undefined, plain: string | undefined) => {
        if (local !== undefined) return `..@${unique}.${local}`;
        const n = Number(braced ?? plain);
        return n === 0 ? String(greedyArgs.length) : greedyArgs[n - 1] ?? '';
      });
    const body = m.body.map((l) => ({ text: substitute(l.text), file: call.file, line: call.line, macro: m.name }));
    if (label !== '') out.push({ ...call, text: label });
    processLines(body, depth + 1);
  };

  const processLines = (lines: readonly Line[], depth: number): void => {
    if (depth > MAX_DEPTH) { err(lines[0] ?? { text: '', file: mainFile, line: 1 }, 1, 'macros or includes nested too deeply (recursive?)'); return; }
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const directive = /^(\s*)(%[a-z]+)\b\s*(.*)$/i.exec(line.text);
      const column = (directive?.[1]?.length ?? 0) + 1;
      const argColumn = directive ? line.text.length - directive[3]!.length + 1 : 1;
      const name = directive?.[2]!.toLowerCase();
      const arg = directive?.[3]!.trim() ?? '';
      // Conditionals are tracked even in skipped regions, to pair them up.
      if (name === '%ifdef' || name === '%ifndef' || name === '%if') {
        const outerActive = active();
        const taking = outerActive && (name === '%if' ? evaluateCondition(line, arg, argColumn) : defines.has(arg) === (name === '%ifdef'));
        conditions.push({ taking, taken: taking, outerActive, sawElse: false, at: line });
        continue;
      }
      if (name === '%elifdef' || name === '%elifndef' || name === '%elif' || name === '%else' || name === '%endif') {
        const top = conditions[conditions.length - 1];
        if (top === undefined) { err(line, column, `${name} without a matching %if`); continue; }
        if (name === '%endif') { conditions.pop(); continue; }
        if (top.sawElse) { err(line, column, `${name} after %else`); continue; }
        const wants = name === '%else' ? true
          : !top.taken && top.outerActive && (name === '%elif' ? evaluateCondition(line, arg, argColumn) : defines.has(arg) === (name === '%elifdef'));
        const taking = !top.taken && top.outerActive && wants;
        conditions[conditions.length - 1] = { ...top, taking, taken: top.taken || taking, sawElse: name === '%else' };
        continue;
      }
      if (!active()) continue;
      if (name === '%macro' || name === '%imacro') {
        const head = /^([A-Za-z._?][A-Za-z0-9_$#@~.?]*)\s+(\d+)(?:-(\d+|\*))?(\+)?\s*$/.exec(arg);
        const block = collectBlock(lines, i + 1, /^%i?macro\b/i, /^%endmacro\b/i);
        if (block === null) { err(line, column, `%macro without %endmacro`); return; }
        i = block.next - 1;
        if (head === null) { err(line, argColumn, `%macro needs a name and an argument count, e.g. '%macro push2 2'`); continue; }
        const min = Number(head[2]);
        const max = head[3] === undefined ? min : head[3] === '*' ? Infinity : Number(head[3]);
        const greedy = head[4] !== undefined;
        const key = name === '%imacro' ? head[1]!.toLowerCase() : head[1]!;
        macros.set(key, { name: head[1]!, min, max: greedy && max === min ? Math.max(min, 1) : max, greedy, caseless: name === '%imacro', body: block.body });
        continue;
      }
      if (name === '%endmacro') { err(line, column, '%endmacro without %macro'); continue; }
      if (name === '%rep') {
        const block = collectBlock(lines, i + 1, /^%rep\b/i, /^%endrep\b/i);
        if (block === null) { err(line, column, '%rep without %endrep'); return; }
        i = block.next - 1;
        const lexed = tokenize(expandDefines(arg), line);
        const parsed = lexed.kind === 'ok' ? parseExpression(lexed.value, 0) : null;
        const count = parsed?.kind === 'ok'
          ? evaluate(parsed.expr, { symbol: () => undefined, here: { kind: 'unknown' }, sectionStart: { kind: 'unknown' }, final: true })
          : null;
        if (count?.kind !== 'known') { err(line, argColumn, '%rep needs a number known to the preprocessor'); continue; }
        for (let k = 0n; k < count.value.value; k++) processLines(block.body, depth + 1);
        continue;
      }
      if (name === '%endrep') { err(line, column, '%endrep without %rep'); continue; }
      if (name === '%define' || name === '%xdefine' || name === '%assign') {
        const head = /^([A-Za-z._?][A-Za-z0-9_$#@~.?]*)(\(([^)]*)\))?\s*(.*)$/.exec(arg);
        if (head === null) { err(line, argColumn, `${name} needs a name`); continue; }
        const params = head[2] === undefined ? null : head[3]!.split(',').map((p) => p.trim()).filter((p) => p !== '');
        let body = head[4]!;
        if (name === '%xdefine') body = expandDefines(body);
        if (name === '%assign') {
          const lexed = tokenize(expandDefines(body), line);
          const parsed = lexed.kind === 'ok' ? parseExpression(lexed.value, 0) : null;
          const v = parsed?.kind === 'ok'
            ? evaluate(parsed.expr, { symbol: () => undefined, here: { kind: 'unknown' }, sectionStart: { kind: 'unknown' }, final: true })
            : null;
          if (v?.kind !== 'known') { err(line, argColumn, '%assign needs a number known to the preprocessor'); continue; }
          body = v.value.value.toString();
        }
        defines.set(head[1]!, { params, body });
        continue;
      }
      if (name === '%defstr') {
        // `%defstr NAME text`: NAME becomes the quoted string of text (defines expanded), as nasm's.
        const head = /^([A-Za-z._?][A-Za-z0-9_$#@~.?]*)\s*(.*)$/.exec(arg);
        if (head === null) { err(line, argColumn, '%defstr needs a name'); continue; }
        const text = expandDefines(head[2]!).trim();
        defines.set(head[1]!, { params: null, body: text.includes('"') ? `'${text}'` : `"${text}"` });
        continue;
      }
      if (name === '%undef') { defines.delete(arg); continue; }
      if (name === '%include') {
        const m = /^(["'])(.*)\1$/.exec(arg);
        if (m === null) { err(line, argColumn, '%include needs a quoted file name'); continue; }
        const path = resolveInclude(line.file, m[2]!);
        const text = readFile(path);
        if (text === null) { err(line, argColumn, `cannot read included file '${m[2]}' (looked for ${path})`); continue; }
        processLines(readLines(text, path), depth + 1);
        continue;
      }
      if (name === '%error') { err(line, column, arg.replace(/^(["'])(.*)\1$/, '$2')); continue; }
      if (name === '%warning') continue;
      if (directive !== null && !/^%(\d|%|\{)/.test(directive[2]!)) { err(line, column, `unknown preprocessor directive '${directive[2]}'`); continue; }
      // An ordinary line: substitute %defines, then look for a macro call,
      // possibly after a label (`here: mymacro 1, 2`).
      const text = expandDefines(line.text);
      const call = /^(\s*(?:[A-Za-z._?][A-Za-z0-9_$#@~.?]*\s*:)?)\s*([A-Za-z._?][A-Za-z0-9_$#@~.?]*)(?=\s|$)(.*)$/.exec(text);
      const macro = call ? macros.get(call[2]!) ?? macros.get(call[2]!.toLowerCase()) : undefined;
      if (call && macro !== undefined && (!macro.caseless ? macros.get(call[2]!) === macro : true)) {
        expandMacro(macro, { ...line, text }, call[1]!.trim(), call[3]!, depth);
        continue;
      }
      out.push({ ...line, text });
    }
  };

  const main = readFile(mainFile);
  if (main === null) return { lines: [], errors: [asmError({ file: mainFile, line: 1, column: 1 }, `cannot read '${mainFile}'`)] };
  processLines(readLines(main, mainFile), 0);
  for (const c of conditions) err(c.at, 1, 'unterminated %if (missing %endif)');
  return { lines: out, errors };
}
