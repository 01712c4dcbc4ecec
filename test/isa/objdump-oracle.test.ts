// Against objdump: for 10,000 byte strings per run (a third encodings of
// random instructions of the map, a third a random opcode after random
// prefixes, a third fully random bytes; each followed by random tail bytes),
// our decoder and objdump agree on the length and, after the normalisation
// of properties/isa/objdump.ts, on mnemonic and operands — or both say the
// bytes are invalid. Accepted differences are listed, each with its reason,
// in test/known-discrepancies/objdump.json; the test fails on any other.
import { readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode } from '../../model/isa/decoder';
import { encode } from '../../model/isa/encoder';
import { arbInstruction } from '../../properties/isa/arbitrary';
import { normaliseObjdump, normaliseOurs, objdumpLines, sameOperands } from '../../properties/isa/objdump';
import { DEFAULT_SEED, propertySeed } from '../../properties/seed';
import { oracleAvailable } from '../../properties/tools';

const COUNT = 10_000;
const CASE = 16;
/** NOP padding after each case so objdump is back in step by the next slot (no instruction exceeds 15 bytes). */
const SLOT = 32;

/** rare: a difference that not every seed's sample meets (exempt from the staleness check). */
interface Discrepancy { readonly pattern: string; readonly reason: string; readonly rare?: boolean }
const known: Discrepancy[] = JSON.parse(readFileSync(new URL('../known-discrepancies/objdump.json', import.meta.url), 'utf8'));
const knownPatterns = known.map((k) => ({ ...k, regex: new RegExp(k.pattern) }));

const PREFIXES = [0x66, 0x67, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0xf0, 0xf2, 0xf3];
const randomBytes = (n: number) => fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n });
const arbCase: fc.Arbitrary<number[]> = fc.oneof(
  arbInstruction().map((i) => [...encode(i)]),
  fc.tuple(fc.array(fc.constantFrom(...PREFIXES), { maxLength: 3 }), fc.boolean(), fc.integer({ min: 0, max: 255 }))
    .map(([prefixes, escaped, opcode]) => [...prefixes, ...(escaped ? [0x0f] : []), opcode]),
  randomBytes(CASE),
).chain((head) => randomBytes(CASE).map((tail) => [...head, ...tail].slice(0, CASE)));

const hex = (b: ArrayLike<number>) => Buffer.from(Uint8Array.from(b)).toString('hex');

describe.runIf(oracleAvailable('objdump'))('objdump oracle', () => {
  it(`decoder agrees with objdump on ${COUNT} byte strings, up to the known discrepancies [ENC.UD.1] [ENC.UD.2] [ENC.MEM.2]`, () => {
    const cases = fc.sample(arbCase, { seed: propertySeed(), numRuns: COUNT });
    const image = new Uint8Array(COUNT * SLOT).fill(0x90);
    cases.forEach((c, k) => image.set(c, k * SLOT));
    const theirs = objdumpLines(image);
    const unexplained: string[] = [];
    const used = new Set<string>();
    let compared = 0;
    let unsupported = 0;
    cases.forEach((c, k) => {
      const address = k * SLOT;
      const ours = decode(image, address);
      const line = theirs.get(address);
      const t = line === undefined ? null : normaliseObjdump(line.text);
      let problem: string | null = null;
      let oursText: string;
      if (ours.kind === 'unsupported') { unsupported++; return; }
      if (ours.kind === 'ok') {
        const n = normaliseOurs(ours.instruction, address, ours.length);
        oursText = `${n.mnemonic} ${n.operands.join(',')}`;
        if (t === null || line === undefined) problem = 'objdump says invalid';
        else if (line.length !== ours.length) problem = `length ${ours.length} vs ${line.length}`;
        else if (t.mnemonic !== n.mnemonic) problem = 'mnemonic';
        else if (!sameOperands(t.operands, n.operands)) problem = 'operands';
        else if (t.lock !== n.lock) problem = 'lock';
        else if (ours.instruction.elementSize !== undefined && t.rep !== n.rep) problem = 'rep';
      } else {
        oursText = ours.kind;
        if (t !== null) problem = 'we say invalid';
      }
      compared++;
      if (problem === null) return;
      const description = `bytes=${hex(c)} ours=${oursText} objdump=${line?.text ?? '-'} (${problem})`;
      const match = knownPatterns.find((k) => k.regex.test(description));
      if (match !== undefined) used.add(match.pattern);
      else unexplained.push(description);
    });
    if (process.env.MESOVIRT_DEBUG_OBJDUMP) writeFileSync(process.env.MESOVIRT_DEBUG_OBJDUMP, unexplained.join('\n'));
    expect(unsupported).toBeLessThan(COUNT / 4);
    expect(compared).toBeGreaterThan(COUNT * 3 / 4);
    expect(unexplained.slice(0, 30).join('\n')).toBe('');
    // Every listed discrepancy still occurs at the fixed CI seed: a stale entry would hide nothing and mislead.
    if (propertySeed() === DEFAULT_SEED) expect(known.filter((k) => k.rare !== true && !used.has(k.pattern)).map((k) => k.pattern)).toEqual([]);
  });
});
