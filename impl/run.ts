// The runner: steps the machine until an event, and where a translated
// block (blocks.ts) starts at EIP and may run, runs the block instead of
// single steps. It sits on top of the interpreter (step.ts) and the block
// compiler; step() alone never uses blocks, so lock-step comparison sees the
// plain interpreter.
import type { StepEvent } from '../model/machine';
import { type Cpu, CS, emptySlots } from './cpu';
import { IF, TF } from './flags';
import { CR0_PG, TLB_USER, TLB_VALID } from './paging';
import { compileBlock } from './blocks';
import { mutated } from './mutants';
import { RETIRED, SOFTWARE_EVENTS, execute, faulted, pageFaulted, step } from './step';

/** After a CS load, a CPL change or a TLB change, the fetch page is
 * forgotten and only fetch() would set it again, so the first instruction
 * after every interrupt, IRET or far transfer was stepped before a block
 * could run. When fetch() would get the translation with no side effect
 * (paging off, or a TLB entry that grants the read at this CPL), set it
 * here instead: exactly what fetch() would set. */
function refreshFetchPage(cpu: Cpu, linear: number): void {
  if (!(cpu.cr0 & CR0_PG)) {
    cpu.fetchPage = linear >>> 12;
    cpu.fetchFrame = linear & ~0xfff;
    return;
  }
  const entry = cpu.tlb[linear >>> 12];
  if (entry & TLB_VALID && (cpu.cpl !== 3 || entry & TLB_USER)) {
    cpu.fetchPage = linear >>> 12;
    cpu.fetchFrame = entry & ~0xfff;
  }
}

/**
 * Step until an event other than 'retired', or `limit` instructions. Where
 * a translated block (blocks.ts) starts at EIP and may run — no interrupt
 * can be taken before it (the same test step() makes), the timer does not
 * fire inside it, the limit is not passed, and the whole block lies within
 * the CS limit — the block runs instead of single steps; otherwise step().
 * The block's code page must be the one fetch() last translated, so its
 * translation (and the walks it would cost) is exactly what step() uses.
 * With `throughEvents` it goes on through the exceptions and interrupts it
 * delivers (their events are not reported) and stops only at another event
 * or after `limit` instructions: for callers that want the machine's end
 * and no event on the way (the bench, as v86's and QEMU's loops do).
 */
export function run(cpu: Cpu, limit: number, throughEvents = false): StepEvent {
  const devices = cpu.devices, memory = cpu.memory, stats = cpu.blockStats;
  const startCount = cpu.instructionCount;
  for (;;) {
    // What is left of the limit: every retired instruction, in a block or
    // stepped, moves the count; a delivery does not.
    const remaining = limit - (cpu.instructionCount - startCount);
    if (remaining <= 0) break;
    // With TF set every instruction ends in a single-step trap: step() only
    // (a block runs several instructions, the cached path below would do).
    if (!cpu.interruptShadow && !cpu.halted && (!(cpu.flags & TF) || mutated('block-ignores-single-step')) && cpu.shutdownReason === null && devices.exitCode === null
      && !(cpu.flags & IF && ((devices.master.irr & ~devices.master.imr) | (devices.slave.irr & ~devices.slave.imr)) !== 0)) {
      const eip = cpu.eip;
      const linear = (cpu.segBase[CS] + eip) >>> 0;
      const page = linear >>> 12;
      if (page !== cpu.fetchPage) refreshFetchPage(cpu, linear);
      const frame = cpu.fetchFrame >>> 12;
      if (page === cpu.fetchPage && frame < memory.codePages.length - 1) {
        const offset = linear & 0xfff;
        let frameBlocks = cpu.blocks[frame];
        if (frameBlocks === undefined) frameBlocks = cpu.blocks[frame] = { blocks: emptySlots(0x1000), hits: new Uint16Array(0x1000) };
        let block = frameBlocks.blocks[offset];
        const hits = block === undefined ? ++frameBlocks.hits[offset] : 0;
        if (hits === cpu.blockThresholds.loop || hits >= cpu.blockThresholds.straight) {
          block = frameBlocks.blocks[offset] = compileBlock(cpu, (cpu.fetchFrame | offset) >>> 0, hits < cpu.blockThresholds.straight);
          if (block != null) {
            cpu.markCode((cpu.fetchFrame | offset) >>> 0, block.bytes); // a write over it drops the block
            stats.compiled++;
          }
        }
        if (block != null && block.length <= remaining && eip + block.bytes - 1 <= cpu.segLimit[CS]
          && (!devices.timerRunning || devices.timerCount > block.length)) {
          cpu.undoTop = 0;
          cpu.logWalks = true;
          cpu.codeWritten = false;
          cpu.softwareVector = -1;
          stats.runs++;
          let retired: number;
          try {
            retired = block.run(cpu, eip, page, devices.timerRunning ? Math.min(remaining, devices.timerCount - 1) : remaining);
          } catch (e) {
            retired = cpu.blockRetired;
            cpu.instructionCount += retired;
            if (devices.timerRunning) devices.timerCount -= retired;
            stats.bailouts++;
            const event = faulted(cpu, e, cpu.eip);
            if (!throughEvents || !isDelivery(event)) return event;
            continue;
          }
          if (retired < 0) {
            // A page fault the block found ahead (no throw): as in the catch above.
            retired = cpu.blockRetired;
            cpu.instructionCount += retired;
            if (devices.timerRunning) devices.timerCount -= retired;
            stats.bailouts++;
            const event = pageFaulted(cpu, cpu.blockFaultCode, cpu.blockFaultAddress, cpu.eip);
            if (!throughEvents || !isDelivery(event)) return event;
            continue;
          }
          cpu.logWalks = false;
          cpu.instructionCount += retired;
          if (devices.timerRunning) devices.timerCount -= retired;
          if (cpu.codeWritten) stats.bailouts++; // a store to code (a side exit is no bail-out)
          // A block ending in INT n: its event, as execute() reports it.
          if (cpu.softwareVector >= 0 && !throughEvents) return SOFTWARE_EVENTS[cpu.softwareVector];
          continue;
        }
        // No block: an instruction in the code cache runs here, without
        // step()'s checks (the test above made them) and fetch's lookups
        // (the translation is the cached one). As fetch(), the whole
        // instruction must lie within the CS limit; otherwise step().
        const cached = cpu.codeCache[frame];
        const d = cached === undefined ? undefined : cached[offset];
        if (d !== undefined && eip + d.length - 1 <= cpu.segLimit[CS]) {
          const event = execute(cpu, d, eip);
          if (event !== RETIRED && (!throughEvents || !isDelivery(event))) return event;
          continue;
        }
      }
    }
    const event = step(cpu);
    if (event !== RETIRED && (!throughEvents || !isDelivery(event))) return event;
  }
  return RETIRED;
}

/** An exception or interrupt delivered: the events `throughEvents` steps over. */
const isDelivery = (event: StepEvent): boolean => event.kind === 'exception' || event.kind === 'interrupt';

