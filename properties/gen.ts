// Random values described once and drawn two ways. `gen.arbitrary` is the
// fast-check arbitrary the description stands for (what tests assert over,
// with fast-check's shrinking); `gen.draw(mrng, bias)` draws the same value
// from the same random source, taking exactly the numbers that
// `gen.arbitrary.generate(mrng, bias)` would take, in the same order, but
// without the arbitrary's machinery (a Value, a shrinking context and
// clone checks for every part drawn). A campaign draws hundreds of
// thousands of cases: through the arbitraries, drawing was a third of a
// case's time.
//
// The combinators below follow fast-check 4's generators (integer with its
// bias toward the ends of its range, oneof and option by cumulated weight,
// array lengths with their bias, record with its null-prototype coin);
// test/gen.test.ts checks, value for value over many seeds and bias
// factors, that draw and arbitrary agree, so an upgrade of fast-check that
// changes how it draws fails there.
import fc from 'fast-check';

/** The numbers a draw takes: fast-check's random source. */
export type Source = fc.Random;

/** For tests: each turned off, draw departs from the arbitrary in one way (test/gen.test.ts shows it notices). */
export const genMutation = { integerBias: true, arrayBias: true, recordPrototype: true };

/** A description of random values: `arbitrary` for fast-check, `draw` for
 * speed. Each combinator is a class of its own with `draw` on its
 * prototype (a closure per Gen made every draw call site see hundreds of
 * functions, and drawing took twice as long). */
export abstract class Gen<T> {
  private built: fc.Arbitrary<T> | undefined;

  /** The fast-check arbitrary, built on first use (a campaign only draws). */
  get arbitrary(): fc.Arbitrary<T> {
    this.built ??= this.build();
    return this.built;
  }

  protected abstract build(): fc.Arbitrary<T>;

  /** A value, taking from `mrng` what arbitrary.generate(mrng, bias) takes. */
  abstract draw(mrng: Source, bias: number | undefined): T;

  map<U>(f: (value: T) => U): Gen<U> { return new Mapped(this, f); }
  filter(keep: (value: T) => boolean): Gen<T> { return new Filtered(this, keep); }
  /** Chain to the Gen `f` gives; `f` should hand out Gens built once (memoized), as a draw calls it every time. */
  chain<U>(f: (value: T) => Gen<U>): Gen<U> { return new Chained(this, f); }
}

class Mapped<T, U> extends Gen<U> {
  constructor(private readonly source: Gen<T>, private readonly f: (value: T) => U) { super(); }
  protected build(): fc.Arbitrary<U> { return this.source.arbitrary.map(this.f); }
  draw(mrng: Source, bias: number | undefined): U { return this.f(this.source.draw(mrng, bias)); }
}

class Filtered<T> extends Gen<T> {
  constructor(private readonly source: Gen<T>, private readonly keep: (value: T) => boolean) { super(); }
  protected build(): fc.Arbitrary<T> { return this.source.arbitrary.filter(this.keep); }
  draw(mrng: Source, bias: number | undefined): T {
    for (;;) {
      const value = this.source.draw(mrng, bias);
      if (this.keep(value)) return value;
    }
  }
}

class Chained<T, U> extends Gen<U> {
  constructor(private readonly source: Gen<T>, private readonly f: (value: T) => Gen<U>) { super(); }
  protected build(): fc.Arbitrary<U> { return this.source.arbitrary.chain((v) => this.f(v).arbitrary); }
  draw(mrng: Source, bias: number | undefined): U { return this.f(this.source.draw(mrng, bias)).draw(mrng, bias); }
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

class IntegerGen extends Gen<number> {
  private readonly ranges: number[];
  constructor(private readonly min: number, private readonly max: number) {
    super();
    this.ranges = biasRanges(min, max);
  }
  protected build(): fc.Arbitrary<number> { return fc.integer({ min: this.min, max: this.max }); }
  draw(mrng: Source, bias: number | undefined): number {
    if (bias === undefined || mrng.nextInt(1, bias) !== 1 || !genMutation.integerBias) return mrng.nextInt(this.min, this.max);
    const ranges = this.ranges, count = ranges.length >> 1;
    if (count === 1) return mrng.nextInt(ranges[0]!, ranges[1]!);
    const id = mrng.nextInt(-2 * (count - 1), count - 2);
    const at = id < 0 ? 0 : 2 * (id + 1);
    return mrng.nextInt(ranges[at]!, ranges[at + 1]!);
  }
}

export const integer = (c: { readonly min: number; readonly max: number }): Gen<number> => new IntegerGen(c.min, c.max);

class ConstantFrom<T> extends Gen<T> {
  constructor(private readonly values: readonly T[]) { super(); }
  protected build(): fc.Arbitrary<T> { return fc.constantFrom(...this.values); }
  draw(mrng: Source): T {
    const values = this.values;
    return values.length === 1 ? values[0]! : values[mrng.nextInt(0, values.length - 1)]!;
  }
}

export const constantFrom = <T>(...values: readonly T[]): Gen<T> => new ConstantFrom(values);
export const constant = <T>(value: T): Gen<T> => new ConstantFrom([value]);

/** Not biased (fast-check's boolean is noBias of an integer 0..1). */
class BooleanGen extends Gen<boolean> {
  protected build(): fc.Arbitrary<boolean> { return fc.boolean(); }
  draw(mrng: Source): boolean { return mrng.nextInt(0, 1) === 1; }
}

export const boolean = (): Gen<boolean> => new BooleanGen();

export interface Weighted<T> { readonly weight: number; readonly arbitrary: Gen<T> }

/** One of several Gens by cumulated weight; `build` makes the arbitrary
 * (fc.oneof or fc.option). Not for recursive descriptions: fast-check's
 * depth bias is left out (it weighs nothing at depth 0, the only depth a
 * Gen that does not contain itself meets). */
class Frequency<T> extends Gen<T> {
  private readonly cumulated: number[] = [];
  private readonly total: number;
  constructor(private readonly choices: readonly Weighted<T>[], private readonly make: () => fc.Arbitrary<T>) {
    super();
    let total = 0;
    for (const w of choices) this.cumulated.push(total += w.weight);
    this.total = total;
  }
  protected build(): fc.Arbitrary<T> { return this.make(); }
  draw(mrng: Source, bias: number | undefined): T {
    const selected = mrng.nextInt(0, this.total - 1), cumulated = this.cumulated;
    for (let i = 0; i < cumulated.length; i++) if (selected < cumulated[i]!) return this.choices[i]!.arbitrary.draw(mrng, bias);
    throw new Error('gen: frequency: no choice selected');
  }
}

/** One of the Gens, by weight (each weighs 1 when none is given). */
export function oneof<T>(...choices: readonly (Gen<T> | Weighted<T>)[]): Gen<T> {
  const weighted = choices.map((c): Weighted<T> => (c instanceof Gen ? { weight: 1, arbitrary: c } : c));
  return new Frequency(weighted, () => fc.oneof(...weighted.map((w) => ({ weight: w.weight, arbitrary: w.arbitrary.arbitrary }))));
}

/** null one time in `freq` (default 6), else a value of `g`. */
export function option<T>(g: Gen<T>, c: { readonly freq?: number } = {}): Gen<T | null> {
  const freq = c.freq ?? 6;
  return new Frequency<T | null>([{ weight: 1, arbitrary: constant(null) }, { weight: freq - 1, arbitrary: g }], () => fc.option(g.arbitrary, { freq }));
}

class Tuple<Ts extends unknown[]> extends Gen<Ts> {
  constructor(private readonly gens: readonly Gen<unknown>[]) { super(); }
  protected build(): fc.Arbitrary<Ts> { return fc.tuple(...this.gens.map((g) => g.arbitrary)) as unknown as fc.Arbitrary<Ts>; }
  draw(mrng: Source, bias: number | undefined): Ts {
    const gens = this.gens, out: unknown[] = [];
    for (let i = 0; i < gens.length; i++) out.push(gens[i]!.draw(mrng, bias));
    return out as Ts;
  }
}

type Gens<Ts extends readonly unknown[]> = { readonly [K in keyof Ts]: Gen<Ts[K]> };

export const tuple = <Ts extends unknown[]>(...gens: Gens<Ts>): Gen<Ts> => new Tuple<Ts>(gens as readonly Gen<unknown>[]);

/** An object with a value of each Gen under its key; like fast-check's
 * record, a last coin decides whether the object has no prototype. */
class RecordGen<R extends object> extends Gen<R> {
  private readonly keys: string[];
  private readonly gens: Gen<unknown>[];
  constructor(model: { readonly [K in keyof R]: Gen<R[K]> }) {
    super();
    this.keys = Object.keys(model);
    this.gens = this.keys.map((k) => (model as Record<string, Gen<unknown>>)[k]!);
  }
  protected build(): fc.Arbitrary<R> {
    return fc.record(Object.fromEntries(this.keys.map((k, i) => [k, this.gens[i]!.arbitrary])) as { [K in keyof R]: fc.Arbitrary<R[K]> }) as fc.Arbitrary<R>;
  }
  draw(mrng: Source, bias: number | undefined): R {
    const keys = this.keys, gens = this.gens, values: unknown[] = [];
    for (let i = 0; i < gens.length; i++) values.push(gens[i]!.draw(mrng, bias));
    const bare = mrng.nextInt(0, 1) === 1 && genMutation.recordPrototype;
    const out: Record<string, unknown> = bare ? Object.create(null) as Record<string, unknown> : {};
    for (let i = 0; i < keys.length; i++) out[keys[i]!] = values[i];
    return out as R;
  }
}

export const record = <R extends object>(model: { readonly [K in keyof R]: Gen<R[K]> }): Gen<R> => new RecordGen<R>(model);

/** An array of a Gen's values. Lengths are drawn as fast-check draws them:
 * up to 2·minLength + 10 (its default size) or up to maxLength with size
 * 'max', and under a bias, often near minLength. */
class ArrayGen<T> extends Gen<T[]> {
  private readonly min: number;
  private readonly maxGenerated: number;
  private readonly biasedMax: number;
  constructor(private readonly item: Gen<T>, private readonly c: { readonly minLength?: number; readonly maxLength: number; readonly size?: 'max' }) {
    super();
    this.min = c.minLength ?? 0;
    this.maxGenerated = c.size === 'max' ? c.maxLength : Math.min(2 * this.min + 10, c.maxLength);
    this.biasedMax = this.min === this.maxGenerated ? this.min : this.min + Math.floor(Math.log(this.maxGenerated - this.min) / Math.log(2));
  }
  protected build(): fc.Arbitrary<T[]> {
    return fc.array(this.item.arbitrary, { minLength: this.min, maxLength: this.c.maxLength, ...(this.c.size === undefined ? {} : { size: this.c.size }) });
  }
  draw(mrng: Source, bias: number | undefined): T[] {
    const min = this.min, max = this.maxGenerated;
    let length: number, itemBias: number | undefined;
    if (bias === undefined) length = mrng.nextInt(min, max);
    else if (min === max) { length = mrng.nextInt(min, max); itemBias = bias; }
    else if (mrng.nextInt(1, bias) !== 1) length = mrng.nextInt(min, max);
    else if (mrng.nextInt(1, bias) !== 1 || !genMutation.arrayBias) { length = mrng.nextInt(min, max); itemBias = bias; }
    else { length = mrng.nextInt(min, this.biasedMax); itemBias = bias; }
    const out: T[] = [];
    for (let i = 0; i < length; i++) out.push(this.item.draw(mrng, itemBias));
    return out;
  }
}

export const array = <T>(g: Gen<T>, c: { readonly minLength?: number; readonly maxLength: number; readonly size?: 'max' }): Gen<T[]> => new ArrayGen(g, c);

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
