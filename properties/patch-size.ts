// The size of a guest's mesovirtualization patch: the lines of NASM source
// that only one of the two builds assembles, because they sit inside an
// `%ifdef MESO` (or `%ifndef MESO`) block.  Lines in the MESO arm are what
// the patch adds; lines in the other arm are what it takes away from the
// native kernel.  Blank lines, comment-only lines and the conditional
// directives themselves are not counted: the figure is lines of code.

export interface PatchSize {
  /** Number of `%ifdef MESO` / `%ifndef MESO` blocks (patched places). */
  readonly blocks: number;
  /** Code lines assembled only with -DMESO. */
  readonly mesoOnly: number;
  /** Code lines assembled only without -DMESO. */
  readonly nativeOnly: number;
  /** mesoOnly + nativeOnly, the figure to report (as `diff --stat` would). */
  readonly lines: number;
}

/** What a conditional block is: one on MESO, or any other. */
type Frame =
  | { readonly kind: 'meso'; mesoArm: boolean }
  | { readonly kind: 'other' };

const DIRECTIVE = /^\s*%(ifdef|ifndef|else|endif)\b\s*([A-Za-z_.$?][\w.$?#@~]*)?/i;

/** Strips a `;` comment, keeping `;` inside quoted strings. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
    } else if (c === ';') {
      return line.slice(0, i);
    }
  }
  return line;
}

/**
 * Counts the patch in one NASM source text (concatenate the files of a guest
 * to count the whole guest).  Throws on an unbalanced %else/%endif, naming
 * the 1-based line.
 */
export function patchSize(source: string): PatchSize {
  const stack: Frame[] = [];
  let blocks = 0;
  let mesoOnly = 0;
  let nativeOnly = 0;
  const lines = source.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const code = stripComment(raw).trim();
    const directive = DIRECTIVE.exec(code);
    if (directive !== null) {
      const word = directive[1]!.toLowerCase();
      const name = directive[2];
      // Conditionals on other symbols are ordinary lines here: inside a MESO
      // block they belong to the patch like any other line.
      if (word === 'ifdef' || word === 'ifndef') {
        if (name === 'MESO') {
          blocks++;
          stack.push({ kind: 'meso', mesoArm: word === 'ifdef' });
        } else {
          countLine();
          stack.push({ kind: 'other' });
        }
        return;
      }
      const top = stack[stack.length - 1];
      if (top === undefined) throw new Error(`line ${index + 1}: %${word} without %ifdef`);
      if (word === 'endif') stack.pop();
      if (top.kind === 'meso') {
        if (word === 'else') top.mesoArm = !top.mesoArm;
      } else {
        countLine();
      }
      return;
    }
    if (code === '') return;
    countLine();

    function countLine(): void {
      // The innermost MESO block decides which build has this line.
      for (let i = stack.length - 1; i >= 0; i--) {
        const frame = stack[i]!;
        if (frame.kind === 'meso') {
          if (frame.mesoArm) mesoOnly++;
          else nativeOnly++;
          return;
        }
      }
    }
  });
  if (stack.length > 0) throw new Error(`unterminated %ifdef at end of source (${stack.length} open)`);
  return { blocks, mesoOnly, nativeOnly, lines: mesoOnly + nativeOnly };
}

/**
 * [SENS.GUEST.1] The instructions a mesovirtualized guest kernel must not
 * execute, because at CPL 1 they neither trap nor tell the truth and the
 * monitor cannot correct them: they read the real descriptor-table
 * registers, CR0 or EFLAGS.IF, or the real descriptor tables.
 */
export const UNTRAPPED_READS = ['sgdt', 'sidt', 'sldt', 'smsw', 'str', 'pushf', 'pushfd', 'popf', 'popfd', 'lar', 'lsl', 'verr', 'verw'] as const;

/** Where a NASM source uses one of UNTRAPPED_READS: 1-based lines and mnemonics. */
export function untrappedReads(source: string): Array<{ readonly line: number; readonly mnemonic: string }> {
  const mnemonics = new Set<string>(UNTRAPPED_READS);
  return source.split(/\r?\n/).flatMap((raw, index) => {
    // An optional label, then the first word of the statement.
    const word = /^\s*(?:[\w.$?]+:\s*)?([A-Za-z]+)\b/.exec(stripComment(raw))?.[1]?.toLowerCase();
    return word !== undefined && mnemonics.has(word) ? [{ line: index + 1, mnemonic: word }] : [];
  });
}
