// The replay file: one differential failure, written so that
// `mesovirt replay FILE` can run it again on both machines. JSON, checked by
// the io-ts codec below; a malformed file is refused with the name of the
// field that is wrong (never a stack trace).
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import type { CommonState, StepEvent } from '../../model/machine';
import type { DiffFailure, DiffScenario, MachinePair } from '../diff/scenario';

export const REPLAY_FORMAT = 'mesovirt-replay/1';

const u32 = new t.Type<number, number, unknown>(
  'u32',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= 0 && u <= 0xffffffff,
  (u, c) => (typeof u === 'number' && Number.isInteger(u) && u >= 0 && u <= 0xffffffff ? t.success(u) : t.failure(u, c, 'an unsigned 32-bit integer')),
  (n) => n,
);

/** Bytes as a base64 string. */
const Base64Bytes = new t.Type<Uint8Array, string, unknown>(
  'base64',
  (u): u is Uint8Array => u instanceof Uint8Array,
  (u, c) => (typeof u === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(u) && u.length % 4 === 0
    ? t.success(new Uint8Array(Buffer.from(u, 'base64')))
    : t.failure(u, c, 'base64 bytes')),
  (b) => Buffer.from(b).toString('base64'),
);

const Segment = t.type({ selector: u32, base: u32, limit: u32, attributes: u32, valid: t.boolean });
const Table = t.type({ base: u32, limit: u32 });

const Msrs = t.type({ tscOffsetHigh: u32, tscOffsetLow: u32, sysenterCs: u32, sysenterEsp: u32, sysenterEip: u32 });

// (The cast: io-ts types the optional `msrs` as required-but-undefined; the two agree on every value.)
export const CommonStateCodec = t.type({
  regs: t.type({ eax: u32, ecx: u32, edx: u32, ebx: u32, esp: u32, ebp: u32, esi: u32, edi: u32 }),
  eip: u32,
  eflags: u32,
  segments: t.type({ es: Segment, cs: Segment, ss: Segment, ds: Segment, fs: Segment, gs: Segment }),
  cr0: u32, cr2: u32, cr3: u32, cr4: u32,
  gdtr: Table, idtr: Table, ldtr: Segment, tr: Segment,
  halted: t.boolean,
  instructionCount: t.number,
  // Absent in replay files written before the machine had MSRs.
  msrs: t.union([Msrs, t.undefined]),
  debug: t.union([t.type({ dr0: u32, dr1: u32, dr2: u32, dr3: u32, dr6: u32, dr7: u32 }), t.undefined]),
}) as unknown as t.Type<CommonState, CommonState, unknown>;

const StepEventCodec: t.Type<StepEvent, StepEvent, unknown> = t.union([
  t.type({ kind: t.literal('retired') }),
  t.type({ kind: t.literal('exception'), vector: u32, errorCode: t.union([u32, t.null]) }),
  t.type({ kind: t.literal('interrupt'), vector: u32 }),
  t.type({ kind: t.literal('halted') }),
  t.type({ kind: t.literal('shutdown'), reason: t.string }),
  t.type({ kind: t.literal('exit'), code: t.number }),
  t.type({ kind: t.literal('model-error'), message: t.string }),
]);

const MachineName = t.keyof({ model: null, impl: null });

const ScenarioCodec = t.type({
  memorySize: u32,
  initial: CommonStateCodec,
  pages: t.array(t.type({ address: u32, bytes: Base64Bytes })),
  code: t.type({ address: u32, bytes: Base64Bytes }),
  steps: u32,
  // [DIFF.CASE.3] Absent in files written before the rule: those run on
  // through the zero bytes. (A union rather than t.partial, whose
  // intersection would put an index into the field names of errors.)
  stopAfterStream: t.union([t.boolean, t.undefined]),
});

const FailureCodec = t.type({
  step: t.number,
  eip: u32,
  differences: t.array(t.string),
  events: t.tuple([StepEventCodec, StepEventCodec]),
  states: t.tuple([CommonStateCodec, CommonStateCodec]),
});

// [DIFF.REPLAY.1]
export const ReplayCodec = t.type({
  format: t.literal(REPLAY_FORMAT),
  /** fast-check seed and path of the counterexample (null path: a campaign case drawn directly). */
  seed: t.number,
  path: t.union([t.string, t.null]),
  /** Where it came from: 'property', or 'campaign case K'. */
  origin: t.string,
  machines: t.tuple([MachineName, MachineName]),
  scenario: ScenarioCodec,
  failure: FailureCodec,
});

export interface Replay {
  readonly format: typeof REPLAY_FORMAT;
  readonly seed: number;
  readonly path: string | null;
  readonly origin: string;
  readonly machines: MachinePair;
  readonly scenario: DiffScenario;
  readonly failure: DiffFailure;
}

/** The name of the field an io-ts error is about, e.g. `scenario.initial.regs.eax`. */
function fieldOf(e: t.ValidationError): string {
  return e.context.map((c) => c.key).filter((k) => k !== '').join('.') || '(top level)';
}

/** Decode a replay file's text; errors name the file and the field. */
export function parseReplay(text: string, file: string): Replay {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
  const r = ReplayCodec.decode(json);
  if (isLeft(r)) {
    const first = r.left[0]!;
    const expected = first.context[first.context.length - 1]?.type.name ?? 'a valid value';
    throw new Error(`${file}: field '${fieldOf(first)}' is wrong: expected ${expected}, got ${JSON.stringify(first.value)?.slice(0, 60)}`);
  }
  return r.right as unknown as Replay;
}

export function serializeReplay(r: Replay): string {
  return `${JSON.stringify(ReplayCodec.encode(r as unknown as t.TypeOf<typeof ReplayCodec>), null, 1)}\n`;
}

/** The JSON result of `mesovirt check --json`, one shard or merged. */
const CountsCodec = t.record(t.string, t.number);

export const CampaignResultCodec = t.intersection([t.type({
  format: t.literal('mesovirt-check/1'),
  seed: t.number,
  machines: t.tuple([MachineName, MachineName]),
  shardCount: t.number,
  shards: t.array(t.number),
  stepBudget: t.number,
  steps: t.number,
  cases: t.number,
  known: t.record(t.string, t.number),
  failures: t.array(t.type({ case: t.number, replay: t.string, summary: t.string })),
}), t.partial({
  // What was compared (absent in results written before it existed).
  coverage: t.type({ events: CountsCodec, cases: CountsCodec, mnemonics: CountsCodec }),
  // Of the steps, those inside the drawn streams (DIFF.CASE.3; absent before it).
  streamSteps: t.number,
})]);

/** Decode a campaign result file's text; errors name the file and the field. */
export function parseCampaignResult(text: string, file: string): t.TypeOf<typeof CampaignResultCodec> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
  const r = CampaignResultCodec.decode(json);
  if (isLeft(r)) {
    const first = r.left[0]!;
    throw new Error(`${file}: field '${fieldOf(first)}' is wrong: expected ${first.context[first.context.length - 1]?.type.name ?? 'a valid value'}, got ${JSON.stringify(first.value)?.slice(0, 60)}`);
  }
  return r.right;
}
