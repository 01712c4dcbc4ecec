// Random values described once and drawn two ways. `gen.arbitrary` is the
// fast-check arbitrary the description stands for (what tests assert over,
// with fast-check's shrinking); `gen.draw(mrng, bias)` draws the same value
// from the same random source, taking exactly the numbers that
// `gen.arbitrary.generate(mrng, bias)` would take, in the same order, but
// without the arbitrary's machinery (a Value, a shrinking context and
// clone checks for every part drawn). A campaign draws hundreds of
// thousands of cases, and through the arbitraries drawing was a third of a
// case's time. Drawn so (with the instruction arbitraries built once per
// form instead of at every draw), a case took about 0.7 of the time alone
// (alternated runs in one process, loaded machine); most of what is left
// is the random numbers themselves (some 600 a case), building the values
// and encoding the instructions. A campaign case now also skips
// fast-check's runner (firstSample) and takes its numbers from an
// IntegerSource, which gives fast-check's numbers with integer arithmetic.
//
// The combinators below follow fast-check 4's generators (integer with its
// bias toward the ends of its range, oneof and option by cumulated weight,
// array lengths with their bias, record with the coin it tosses for a
// prototype-less object); test/gen.test.ts checks, value for value over
// many seeds and bias factors, that draw and arbitrary agree, so an upgrade
// of fast-check that changes how it draws fails there.
import fc from 'fast-check';
import { xorshift128plus } from 'pure-rand/generator/xorshift128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { uniformInt } from 'pure-rand/distribution/uniformInt';

/** The numbers a draw takes: fast-check's random source (fc.Random), or an IntegerSource. */
export interface Source { nextInt(min: number, max: number): number }

/**
 * The numbers fc.Random would give over the same pure-rand generator.
 * fc.Random.nextInt(min, max) is pure-rand's uniformInt: take 32-bit
 * outputs, throw away those at or above the largest multiple of the range
 * size, and take the remainder by the range size. pure-rand writes that
 * remainder with `%` on numbers up to 2^32, which V8 computes as a
 * floating-point remainder, a call into C; here it is a division and a
 * floor, which V8 does inline. The values are the same (both are exact on
 * integers below 2^53; test/gen.test.ts compares the two over many ranges),
 * and a campaign case draws some 600 of them.
 */
export class IntegerSource implements Source {
  constructor(private readonly rng: RandomGenerator) {}

  nextInt(min: number, max: number): number {
    const size = max - min + 1;
    // (No Gen here draws from a wider range; pure-rand's own way for one.)
    if (size > 2 ** 32) return uniformInt(this.rng, min, max);
    const limit = size > 2 && genMutation.sourceRejects ? Math.floor(2 ** 32 / size) * size : 2 ** 32;
    let drawn = this.rng.next() + 0x80000000;
    while (drawn >= limit) drawn = this.rng.next() + 0x80000000;
    return drawn - Math.floor(drawn / size) * size + min;
  }
}

/**
 * The value fc.sample(g.arbitrary, { seed, numRuns: 1 })[0] is (seed a
 * 32-bit integer), drawn without fast-check's runner: its default
 * generator, xorshift128+, seeded with `seed` and jumped once (the runner
 * jumps before each run), and the bias of a first run (fast-check's
 * runIdToFrequency(0) = 2). test/gen.test.ts checks the two agree.
 */
export function firstSample<T>(g: Gen<T>, seed: number): T {
  const rng = xorshift128plus(seed | 0);
  if (genMutation.sampleJumps) rng.jump();
  return g.draw(new IntegerSource(rng), FIRST_RUN_BIAS);
}

/** The bias factor fast-check gives the first run of a property. */
const FIRST_RUN_BIAS = 2;

/** For tests: each turned off, draw departs from the arbitrary in one way (test/gen.test.ts shows it notices). */
export const genMutation = { integerBias: true, arrayBias: true, recordCoin: true, sourceRejects: true, sampleJumps: true };

/** What a kind of Gen keeps (Gen's fields of those names). */
interface Fields {
  readonly min?: number; readonly max?: number; readonly ranges?: readonly number[]; readonly biasedMax?: number;
  readonly values?: readonly unknown[]; readonly cumulated?: readonly number[]; readonly total?: number;
  readonly parts?: readonly Gen<unknown>[]; readonly keys?: readonly string[]; readonly f?: (value: never) => unknown;
}

const enum Kind { Integer, ConstantFrom, Boolean, Frequency, Tuple, Record, Array, Map, Filter, Chain }

/**
 * A description of random values: `arbitrary` for fast-check, `draw` for
 * speed. One class for every combinator, told apart by `kind`; `emit`
 * writes out the draw of each kind, and `draw` runs them compiled into one
 * function per Gen (compileDraw). (Before, a closure per Gen, then a class
 * per combinator, made the calls between parts megamorphic: in a campaign,
 * between the machines' steps, drawing took two to three times as long as
 * alone. Then one `draw` switched on the kind, calling itself for each
 * part.) The fields a kind does not use stay at their defaults.
 */
export class Gen<T> {
  private built: fc.Arbitrary<T> | undefined = undefined;
  // Integer: the range and its bias ranges; Array: the lengths.
  private min = 0;
  private max = 0;
  private ranges: readonly number[] = [];
  private biasedMax = 0;
  // ConstantFrom: the values; Frequency: the cumulated weights and their total.
  private values: readonly unknown[] = [];
  private cumulated: readonly number[] = [];
  private total = 0;
  // Frequency: the choices; Tuple, Record: the parts; Array, Map, Filter, Chain: the source (parts[0]).
  private parts: readonly Gen<unknown>[] = [];
  private keys: readonly string[] = [];
  private f: ((value: never) => unknown) | null = null;

  private constructor(private readonly kind: Kind, private readonly build: () => fc.Arbitrary<T>) {}

  /** The fast-check arbitrary, built on first use (a campaign only draws). */
  get arbitrary(): fc.Arbitrary<T> {
    this.built ??= this.build();
    return this.built;
  }

  /** A value, taking from `mrng` what arbitrary.generate(mrng, bias) takes. */
  draw(mrng: Source, bias: number | undefined): T {
    this.drawn ??= compileDraw(this as Gen<unknown>);
    return this.drawn(mrng, bias) as T;
  }

  /** draw, compiled on first use (compileDraw). */
  private drawn: Draw | undefined = undefined;

  /**
   * (For compileDraw.) The statements that draw a value of this Gen into a
   * new variable, whose name they return: the draw of each kind, written
   * out with this Gen's numbers as literals and its values and functions
   * as constants (`into` keeps both). `bias` names the variable that holds
   * the bias factor.
   */
  emit(into: Emitted, bias: string): string {
    const v = into.name('v'), r = 'r';
    const out = (line: string): void => { into.lines.push(line); };
    switch (this.kind) {
      case Kind.Integer: {
        // Biased (one draw in `bias`, unless the mutant is on): a range near an end or near zero.
        out(`let ${v};`);
        out(`if (${bias} === undefined || ${r}.nextInt(1, ${bias}) !== 1 || !m.integerBias) ${v} = ${r}.nextInt(${this.min}, ${this.max});`);
        const ranges = this.ranges, count = ranges.length >> 1;
        if (count === 1) out(`else ${v} = ${r}.nextInt(${ranges[0]}, ${ranges[1]});`);
        else {
          const id = into.name('id'), at = into.name('at'), bounds = into.constant(ranges);
          out(`else { const ${id} = ${r}.nextInt(${-2 * (count - 1)}, ${count - 2}), ${at} = ${id} < 0 ? 0 : 2 * (${id} + 1); ${v} = ${r}.nextInt(${bounds}[${at}], ${bounds}[${at} + 1]); }`);
        }
        return v;
      }
      case Kind.ConstantFrom: {
        const values = into.constant(this.values);
        out(this.values.length === 1 ? `const ${v} = ${values}[0];` : `const ${v} = ${values}[${r}.nextInt(0, ${this.values.length - 1})];`);
        return v;
      }
      case Kind.Boolean: out(`const ${v} = ${r}.nextInt(0, 1) === 1;`); return v;
      case Kind.Frequency: {
        const selected = into.name('s');
        out(`const ${selected} = ${r}.nextInt(0, ${this.total - 1}); let ${v};`);
        this.cumulated.forEach((upTo, i) => {
          out(`${i === 0 ? '' : 'else '}if (${selected} < ${upTo}) {`);
          out(`${v} = ${this.parts[i]!.emit(into, bias)}; }`);
        });
        out(`else throw new Error('gen: frequency: no choice selected');`);
        return v;
      }
      case Kind.Tuple: {
        const parts = this.parts.map((g) => g.emit(into, bias));
        out(`const ${v} = [${parts.join(', ')}];`);
        return v;
      }
      case Kind.Record: {
        const parts = this.parts.map((g) => g.emit(into, bias));
        // fast-check's coin for a record without prototype: taken, but the
        // record is a plain object either way (an object without prototype
        // is a dictionary to V8, slow to fill and to read; no reader here
        // looks at prototypes).
        out(`if (m.recordCoin) ${r}.nextInt(0, 1);`);
        out(`const ${v} = { ${this.keys.map((k, i) => `${JSON.stringify(k)}: ${parts[i]}`).join(', ')} };`);
        return v;
      }
      case Kind.Array: {
        const { min, max } = this, length = into.name('n'), itemBias = into.name('b'), i = into.name('i');
        out(`let ${length}, ${itemBias};`);
        out(`if (${bias} === undefined) ${length} = ${r}.nextInt(${min}, ${max});`);
        if (min === max) out(`else { ${length} = ${r}.nextInt(${min}, ${max}); ${itemBias} = ${bias}; }`);
        else {
          out(`else if (${r}.nextInt(1, ${bias}) !== 1) ${length} = ${r}.nextInt(${min}, ${max});`);
          out(`else if (${r}.nextInt(1, ${bias}) !== 1 || !m.arrayBias) { ${length} = ${r}.nextInt(${min}, ${max}); ${itemBias} = ${bias}; }`);
          out(`else { ${length} = ${r}.nextInt(${min}, ${this.biasedMax}); ${itemBias} = ${bias}; }`);
        }
        out(`const ${v} = [];`);
        out(`for (let ${i} = 0; ${i} < ${length}; ${i}++) {`);
        out(`${v}.push(${this.parts[0]!.emit(into, itemBias)}); }`);
        return v;
      }
      case Kind.Map: {
        const source = this.parts[0]!.emit(into, bias);
        out(`const ${v} = ${into.constant(this.f)}(${source});`);
        return v;
      }
      case Kind.Filter: {
        out(`let ${v};`);
        out('for (;;) {');
        const source = this.parts[0]!.emit(into, bias);
        out(`if (${into.constant(this.f)}(${source})) { ${v} = ${source}; break; } }`);
        return v;
      }
      // The Gen chained to is drawn by its own compiled draw.
      case Kind.Chain: {
        const source = this.parts[0]!.emit(into, bias);
        out(`const ${v} = ${into.constant(this.f)}(${source}).draw(${r}, ${bias});`);
        return v;
      }
    }
  }

  map<U>(f: (value: T) => U): Gen<U> {
    return Gen.make<U>(Kind.Map, () => this.arbitrary.map(f), { parts: [this], f });
  }

  filter(keep: (value: T) => boolean): Gen<T> {
    return Gen.make<T>(Kind.Filter, () => this.arbitrary.filter(keep), { parts: [this], f: keep });
  }

  /** Chain to the Gen `f` gives; `f` should hand out Gens built once (memoized), as a draw calls it every time. */
  chain<U>(f: (value: T) => Gen<U>): Gen<U> {
    return Gen.make<U>(Kind.Chain, () => this.arbitrary.chain((v) => f(v).arbitrary), { parts: [this], f });
  }

  /** (For the combinators below.) */
  static make<T>(kind: Kind, build: () => fc.Arbitrary<T>, fields: Fields): Gen<T> {
    const g = new Gen<T>(kind, build);
    Object.assign(g, fields);
    return g;
  }
}

/** A compiled draw: a value from the source and the bias factor. */
type Draw = (mrng: Source, bias: number | undefined) => unknown;

/** What compiling a draw collects: its statements, and the constants (values, ranges, functions) they refer to. */
class Emitted {
  readonly lines: string[] = [];
  readonly constants: unknown[] = [];
  private count = 0;

  /** A fresh variable name. */
  name(prefix: string): string { return `${prefix}${this.count++}`; }

  /** How the statements refer to `value`. */
  constant(value: unknown): string {
    let k = this.constants.indexOf(value);
    if (k < 0) k = this.constants.push(value) - 1;
    return `k[${k}]`;
  }
}

/**
 * A Gen's draw as one JavaScript function: the draws of its parts written
 * out one after another (Gen.emit), down to the Gens a Chain picks while
 * drawing, which have their own. Interpreting the description instead (a
 * switch on the kind for every part of every value, some 800 parts a
 * campaign case) cost about twice as much as the draws compiled (a hand-
 * compiled memory operand against its Gen, alone, one process). The
 * mutants of genMutation are read as the draw runs (`m`), so a test can
 * turn them on after a Gen was compiled.
 */
function compileDraw(g: Gen<unknown>): Draw {
  const into = new Emitted();
  const result = g.emit(into, 'b');
  const body = `${into.lines.join('\n')}\nreturn ${result};`;
  return new Function('k', 'm', `return function draw(r, b) {\n${body}\n};`)(into.constants, genMutation) as Draw;
}

/** floor(log2(v)) as fast-check computes it. */
const logLike = (v: number): number => Math.floor(Math.log(v) / Math.log(2));

/** The ranges near the ends (and near zero) that a biased integer draw picks
 * from (fast-check's biasNumericRange), as [min, max] pairs one after the other. */
function biasRanges(min: number, max: number): number[] {
  if (min === max) return [min, max];
  if (min < 0 && max > 0) {
    const logMin = logLike(-min), logMax = logLike(max);
    return [-logMin, logMax, max - logMax, max, min, min + logMin];
  }
  const gap = logLike(max - min);
  return min < 0 ? [max - gap, max, min, min + gap] : [min, min + gap, max - gap, max];
}

export const integer = ({ min, max }: { readonly min: number; readonly max: number }): Gen<number> =>
  Gen.make(Kind.Integer, () => fc.integer({ min, max }), { min, max, ranges: biasRanges(min, max) });

export const constantFrom = <T>(...values: readonly T[]): Gen<T> => Gen.make(Kind.ConstantFrom, () => fc.constantFrom(...values), { values });
export const constant = <T>(value: T): Gen<T> => constantFrom(value);

/** Not biased (fast-check's boolean is noBias of an integer 0..1). */
export const boolean = (): Gen<boolean> => Gen.make(Kind.Boolean, () => fc.boolean(), {});

export interface Weighted<T> { readonly weight: number; readonly arbitrary: Gen<T> }

/** One of several Gens by cumulated weight; `build` makes the arbitrary
 * (fc.oneof or fc.option). Not for recursive descriptions: fast-check's
 * depth bias is left out (it weighs nothing at depth 0, the only depth a
 * Gen that does not contain itself meets). */
function frequency<T>(choices: readonly Weighted<T>[], build: () => fc.Arbitrary<T>): Gen<T> {
  const cumulated: number[] = [];
  let total = 0;
  for (const w of choices) cumulated.push(total += w.weight);
  return Gen.make(Kind.Frequency, build, { cumulated, total, parts: choices.map((w) => w.arbitrary) });
}

/** One of the Gens, by weight (each weighs 1 when none is given). */
export function oneof<T>(...choices: readonly (Gen<T> | Weighted<T>)[]): Gen<T> {
  const weighted = choices.map((c): Weighted<T> => (c instanceof Gen ? { weight: 1, arbitrary: c } : c));
  return frequency(weighted, () => fc.oneof(...weighted.map((w) => ({ weight: w.weight, arbitrary: w.arbitrary.arbitrary }))));
}

/** null one time in `freq` (default 6), else a value of `g`. */
export function option<T>(g: Gen<T>, c: { readonly freq?: number } = {}): Gen<T | null> {
  const freq = c.freq ?? 6;
  return frequency<T | null>([{ weight: 1, arbitrary: constant(null) }, { weight: freq - 1, arbitrary: g }], () => fc.option(g.arbitrary, { freq }));
}

type Gens<Ts extends readonly unknown[]> = { readonly [K in keyof Ts]: Gen<Ts[K]> };

export function tuple<Ts extends unknown[]>(...gens: Gens<Ts>): Gen<Ts> {
  const parts = gens as readonly Gen<unknown>[];
  return Gen.make(Kind.Tuple, () => fc.tuple(...parts.map((g) => g.arbitrary)) as unknown as fc.Arbitrary<Ts>, { parts });
}

/** An object with a value of each Gen under its key; like fast-check's
 * record, a last coin is tossed (fast-check makes the object without a
 * prototype on heads; this draw makes a plain object either way). */
export function record<R extends object>(model: { readonly [K in keyof R]: Gen<R[K]> }): Gen<R> {
  const keys = Object.keys(model), parts = keys.map((k) => (model as Record<string, Gen<unknown>>)[k]!);
  return Gen.make(Kind.Record, () => fc.record(Object.fromEntries(keys.map((k, i) => [k, parts[i]!.arbitrary])) as { [K in keyof R]: fc.Arbitrary<R[K]> }) as fc.Arbitrary<R>, { keys, parts });
}

/** An array of `g`'s values. Lengths are drawn as fast-check draws them:
 * up to 2·minLength + 10 (its default size) or up to maxLength with size
 * 'max', and under a bias, often near minLength. */
export function array<T>(g: Gen<T>, c: { readonly minLength?: number; readonly maxLength: number; readonly size?: 'max' }): Gen<T[]> {
  const min = c.minLength ?? 0;
  const max = c.size === 'max' ? c.maxLength : Math.min(2 * min + 10, c.maxLength);
  const biasedMax = min === max ? min : min + logLike(max - min);
  return Gen.make(Kind.Array, () => fc.array(g.arbitrary, { minLength: min, maxLength: c.maxLength, ...(c.size === undefined ? {} : { size: c.size }) }), { min, max, biasedMax, parts: [g] });
}

/** An arbitrary that draws with `g.draw` (no shrinking): fc.sample of it
 * gives what fc.sample of g.arbitrary gives, seeded the same way. */
export function drawing<T>(g: Gen<T>): fc.Arbitrary<T> {
  return new Drawing(g);
}

class Drawing<T> extends fc.Arbitrary<T> {
  constructor(private readonly g: Gen<T>) { super(); }
  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<T> {
    return new fc.Value(this.g.draw(mrng, biasFactor), undefined);
  }
  canShrinkWithoutContext(_value: unknown): _value is T { return false; }
  shrink(): fc.Stream<fc.Value<T>> { return fc.Stream.nil(); }
}
