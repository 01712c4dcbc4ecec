// The differential property: for a random case, model and impl run in lock
// step and must agree after every step (state and event) and on memory at
// the end. A disagreement is reported with the program as a disassembled
// listing and the two differing states.
import type { DiffCase } from './states';
import { DIFF_MEMORY, caseState } from './states';
import { LAYOUT } from '../builders';
import { encodeResult } from '../../model/isa/encoder';
import { disassemble } from '../../model/isa/disassembler';
import { PAGE_SIZE, pageAt } from '../../model/cpu/memory';
import { toCommon, type MachineState } from '../../model/cpu/state';
import { createModelMachine } from '../machines/model';
import { createImplMachine } from '../machines/impl';
import { lockstep } from './lockstep';
import { knownDiscrepancy } from './known';

export const STEPS_PER_CASE = 24;

export function listing(c: DiffCase): string {
  let address = LAYOUT.code;
  return c.program.map((i) => {
    const r = encodeResult(i);
    const bytes = r.kind === 'ok' ? r.bytes : new Uint8Array(0);
    const line = `  ${address.toString(16).padStart(8, '0')}  ${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(30)} ${disassemble(i, address)}`;
    address += bytes.length;
    return line;
  }).join('\n');
}

export interface DiffOutcome {
  readonly steps: number;
  readonly failure: string | null;
  /** Id of a known discrepancy the run stopped on (not a failure). */
  readonly known?: string;
}

/** Run one case on both machines; `failure` explains a disagreement. */
export function runDiffCase(c: DiffCase, steps = STEPS_PER_CASE): DiffOutcome {
  const s = caseState(c);
  const model = createModelMachine(DIFF_MEMORY);
  model.setModelState(s);
  const impl = createImplMachine(DIFF_MEMORY);
  for (let address = 0; address < DIFF_MEMORY; address += PAGE_SIZE) {
    const page = pageAt(s.memory, address);
    if (page !== undefined) impl.writePhysical(address, page);
  }
  impl.setState(toCommon(s));
  const r = lockstep(model, impl, steps);
  const head = `cpl ${c.cpl}, paging ${c.paging ? 'on' : 'off'}, eflags 0x${c.eflags.toString(16)}\n${listing(c)}`;
  if (r.divergence) {
    const d = r.divergence;
    const known = knownDiscrepancy(d);
    if (known !== null) return { steps: r.steps, failure: null, known: known.id };
    return {
      steps: r.steps,
      failure: `${head}\nstep ${d.step} at eip 0x${d.eip.toString(16)} differs:\n  ${d.differences.join('\n  ')}`,
    };
  }
  const memory = memoryDifferences(model.modelState(), impl.readPhysical(0, DIFF_MEMORY));
  if (memory.length > 0) return { steps: r.steps, failure: `${head}\nmemory differs after ${r.steps} steps:\n  ${memory.slice(0, 8).join('\n  ')}` };
  return { steps: r.steps, failure: null };
}

/** Memory differences after a run: the first differing byte of each page,
 * read straight from the model's page trie and impl's RAM. */
function memoryDifferences(final: MachineState, implBytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let address = 0; address < DIFF_MEMORY; address += PAGE_SIZE) {
    const page = pageAt(final.memory, address);
    for (let i = 0; i < PAGE_SIZE; i++) {
      const expected = page === undefined ? 0 : page[i]!;
      if (implBytes[address + i] !== expected) {
        out.push(`memory 0x${(address + i).toString(16)}: model 0x${expected.toString(16)} impl 0x${implBytes[address + i]!.toString(16)}`);
        break;
      }
    }
  }
  return out;
}
