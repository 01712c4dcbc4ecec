// System instructions: HLT, CLI/STI, PUSHF/POPF, descriptor-table registers,
// LLDT/LTR, SMSW/LMSW/CLTS, MOV to/from CRn and segment registers,
// LAR/LSL/VERR/VERW, INVLPG, CPUID, INT n/INT3/INTO, BOUND, UD2, WBINVD.
import { type Cpu, type Decoded, CS, SS, loadedSystemSegment } from '../cpu';
import { BR, NP, fault, gp, ud, Unsupported } from '../faults';
import { IF, IOPL, OF, RF, SUPPORTED, VM, ZF, flag, readEflags, setFlags, writeEflags } from '../flags';
import { linearAddress, pop, probeWrite, push, readMemory, writeMemory } from '../access';
import { destination, effectiveOffset, readDestination, readRM, writeDestination, writeRM, signExtend } from '../operands';
import {
  ATTR_P, attributesOf, baseOf, dplOf, isCode, isConforming, limitOf, loadDataSegment, readDescriptor,
} from '../segmentation';
import { CR0_PE, CR0_PG, CR0_TS, CR4_PSE, flushTlb, invalidatePage } from '../paging';
import { CR4_TSD } from './msr';
import { deliver, Source } from '../delivery';
import { mutated } from '../mutants';

const requireRing0 = (cpu: Cpu): void => { if (cpu.cpl !== 0) gp(0); };
const iopl = (cpu: Cpu): number => (readEflags(cpu) & IOPL) >> 12;

export function halt(cpu: Cpu): void {
  requireRing0(cpu);
  cpu.halted = true;
}

/** CLI (variant 0) and STI (variant 1): allowed when CPL <= IOPL. */
export function setInterruptFlag(cpu: Cpu, d: Decoded): void {
  if (cpu.cpl > iopl(cpu)) gp(0);
  const eflags = readEflags(cpu);
  // STI delays interrupts until after the next instruction.
  if (d.variant === 1 && !(eflags & IF)) cpu.interruptShadow = true;
  writeEflags(cpu, d.variant === 1 ? eflags | IF : eflags & ~IF);
}

/** CLD (variant 0) and STD (variant 1). */
export function setDirectionFlag(cpu: Cpu, d: Decoded): void {
  writeEflags(cpu, d.variant === 1 ? readEflags(cpu) | 0x400 : readEflags(cpu) & ~0x400);
}

/** PUSHF: the image has RF and VM clear. */
export function pushFlags(cpu: Cpu, d: Decoded): void {
  push(cpu, d.size, readEflags(cpu) & ~(RF | VM) & (d.size === 2 ? 0xffff : 0xffffffff));
}

/** POPF: IOPL changes only at CPL 0, IF only when CPL <= IOPL; VM never;
 * RF is cleared (PRIV.POPF.1). */
export function popFlags(cpu: Cpu, d: Decoded): void {
  const staleLazy = cpu.lazy;
  const current = readEflags(cpu);
  const popped = pop(cpu, d.size);
  let changeable = SUPPORTED & ~(VM | RF);
  if (d.size === 2) changeable &= 0xffff;
  if (cpu.cpl > 0) changeable &= ~IOPL;
  if (cpu.cpl > ((current & IOPL) >> 12)) changeable &= ~IF;
  writeEflags(cpu, ((current & ~changeable) | (popped & changeable)) & ~RF);
  if (mutated('popf-keeps-stale-lazy-flags')) cpu.lazy = staleLazy;
}

/** LGDT (variant 2) and LIDT (variant 3): 16-bit limit, then the base. */
export function loadTableRegister(cpu: Cpu, d: Decoded): void {
  if (d.mod === 3) ud();
  requireRing0(cpu);
  const at = effectiveOffset(cpu, d);
  const limit = readMemory(cpu, d.segment, at, 2);
  let base = readMemory(cpu, d.segment, (at + 2) >>> 0, 4);
  if (d.operandSize === 2) base &= 0xffffff;
  if (d.variant === 2) { cpu.gdtrBase = base; cpu.gdtrLimit = limit; }
  else { cpu.idtrBase = base; cpu.idtrLimit = limit; }
}

/** SGDT (variant 0) and SIDT (variant 1): not privileged (a sensitive instruction). */
export function storeTableRegister(cpu: Cpu, d: Decoded): void {
  if (d.mod === 3) ud();
  const at = effectiveOffset(cpu, d);
  const [base, limit] = d.variant === 0 ? [cpu.gdtrBase, cpu.gdtrLimit] : [cpu.idtrBase, cpu.idtrLimit];
  // Two accesses, as the model (and Bochs) make them: the limit's two bytes
  // are checked (segment, then pages) before the base's four, and both
  // before anything is stored, so a fault leaves memory as it was.
  probeWrite(cpu, linearAddress(cpu, d.segment, at, 2, true), 2, cpu.cpl === 3);
  probeWrite(cpu, linearAddress(cpu, d.segment, (at + 2) >>> 0, 4, true), 4, cpu.cpl === 3);
  writeMemory(cpu, d.segment, at, 2, limit);
  writeMemory(cpu, d.segment, (at + 2) >>> 0, 4, base);
}

/** SLDT (variant 0), STR (1), SMSW (4): to memory 16 bits, to a register
 * zero-extended; SMSW to a 32-bit register stores all of CR0 (the manual
 * leaves the high half undefined; the model chooses CR0). */
export function storeSystemWord(cpu: Cpu, d: Decoded): void {
  const value = d.variant === 0 ? cpu.ldtr.selector : d.variant === 1 ? cpu.tr.selector : cpu.cr0;
  writeRM(cpu, d, d.mod === 3 ? d.operandSize : 2, value);
}

export function loadLocalDescriptorTable(cpu: Cpu, d: Decoded): void {
  requireRing0(cpu);
  const selector = readRM(cpu, d, 2);
  if ((selector & 0xfffc) === 0) {
    cpu.ldtr = loadedSystemSegment(selector, 0, 0, 0, false);
    return;
  }
  if (selector & 4) gp(selector & 0xfffc);
  const desc = readDescriptor(cpu, selector);
  if (desc === null) return gp(selector & 0xfffc);
  const a = attributesOf(desc.high);
  if ((a & 0x1f) !== 0x02) gp(selector & 0xfffc);
  if (!(a & ATTR_P)) fault(NP, selector & 0xfffc);
  cpu.ldtr = loadedSystemSegment(selector, baseOf(desc), limitOf(desc), a, true);
}

export function loadTaskRegister(cpu: Cpu, d: Decoded): void {
  requireRing0(cpu);
  const selector = readRM(cpu, d, 2);
  if ((selector & 0xfffc) === 0) gp(0);
  if (selector & 4) gp(selector & 0xfffc);
  const desc = readDescriptor(cpu, selector);
  if (desc === null) return gp(selector & 0xfffc);
  const a = attributesOf(desc.high), type = a & 0x1f;
  if (type !== 0x09 && type !== 0x01) gp(selector & 0xfffc);
  if (!(a & ATTR_P)) fault(NP, selector & 0xfffc);
  // Mark the TSS busy in the GDT and in the cache.
  const busyHigh = desc.high | 0x200;
  writeSystemDword(cpu, (desc.address + 4) >>> 0, busyHigh);
  cpu.tr = loadedSystemSegment(selector, baseOf(desc), limitOf(desc), a | 0x2, true);
}

import { writeSystem } from '../access';
const writeSystemDword = (cpu: Cpu, address: number, value: number): void => writeSystem(cpu, address, 4, value);

export function loadMachineStatusWord(cpu: Cpu, d: Decoded): void {
  requireRing0(cpu);
  const value = readRM(cpu, d, 2);
  // LMSW sets PE, MP, EM, TS but cannot clear PE.
  cpu.cr0 = ((cpu.cr0 & ~0xe) | (value & 0xf) | (cpu.cr0 & CR0_PE)) >>> 0;
}

export function clearTaskSwitched(cpu: Cpu): void {
  requireRing0(cpu);
  cpu.cr0 = (cpu.cr0 & ~CR0_TS) >>> 0;
}

const CR0_ET = 0x10;

/** MOV r32, CRn (variant 0) and MOV CRn, r32 (variant 1); d.reg names the CR.
 * As the model (SYS.CR.1-3): CR0 keeps what is written (ET reads 1), PG
 * without PE is #GP(0), a PG change empties the TLB; CR4 may hold only PSE
 * (other bits are a model error) and a PSE change empties the TLB. */
export function moveControlRegister(cpu: Cpu, d: Decoded): void {
  // An invalid CR number is a decoding #UD: it comes before the CPL check (ENC.UD.3).
  const n = d.reg;
  if (n === 1 || n > 4) ud();
  requireRing0(cpu);
  if (d.variant === 0) {
    cpu.r32[d.rm] = n === 0 ? cpu.cr0 : n === 2 ? cpu.cr2 : n === 3 ? cpu.cr3 : cpu.cr4;
    return;
  }
  const value = cpu.r32[d.rm] >>> 0;
  switch (n) {
    case 0: {
      if (value & CR0_PG && !(value & CR0_PE)) gp(0);
      const next = (value | CR0_ET) >>> 0;
      if ((next ^ cpu.cr0) & CR0_PG) flushTlb(cpu);
      cpu.cr0 = next;
      return;
    }
    case 2: cpu.cr2 = value; return;
    case 3: cpu.cr3 = value; if (!mutated('cr3-write-keeps-tlb')) flushTlb(cpu); return; // a CR3 write empties the TLB
    default:
      if (value & ~(CR4_PSE | CR4_TSD)) throw new Unsupported(`CR4 bits 0x${(value & ~(CR4_PSE | CR4_TSD)).toString(16)} (only PSE and TSD are implemented)`);
      if ((value ^ cpu.cr4) & CR4_PSE) flushTlb(cpu);
      cpu.cr4 = value;
  }
}

/** MOV r32, DRn (variant 0) and MOV DRn, r32 (variant 1), as the model (SYS.DR.1-2). */
export function moveDebugRegister(cpu: Cpu, d: Decoded): void {
  requireRing0(cpu);
  const n = d.reg >= 4 && d.reg <= 5 ? d.reg + 2 : d.reg;
  if (d.variant === 0) { cpu.r32[d.rm] = cpu.debug[n]; return; }
  const value = cpu.r32[d.rm] >>> 0;
  if (n === 7 && value & 0x20ff) throw new Unsupported(`MOV to DR7 0x${value.toString(16)}: hardware breakpoints`);
  cpu.debug[n] = n === 6 ? (value & 0xe00f) | 0xffff0ff0 : n === 7 ? (value & 0xffff23ff) | 0x400 : value;
}

/** MOV Sreg, r/m (CS is #UD; SS holds interrupts back for one instruction, the model's EXC.SHADOW.1). */
export function moveToSegment(cpu: Cpu, d: Decoded): void {
  if (d.reg === CS || d.reg > 5) ud();
  loadDataSegment(cpu, d.reg, readRM(cpu, d, 2));
  if (d.reg === SS && !mutated('ss-load-leaves-no-shadow')) cpu.interruptShadow = true;
}
/** MOV r/m, Sreg: 16 bits to memory, zero-extended to a 32-bit register. */
export function moveFromSegment(cpu: Cpu, d: Decoded): void {
  if (d.reg > 5) ud();
  writeRM(cpu, d, d.mod === 3 ? d.operandSize : 2, cpu.segSelector[d.reg]);
}
/** PUSH Sreg: with a 32-bit operand size only the low word is written
 * (as recent processors do; see CHOICES.md), ESP still moves by 4; the
 * checks cover the two bytes written, as in the model (SEG.PUSH.1). */
export function pushSegment(cpu: Cpu, d: Decoded): void {
  const esp = (cpu.r32[4] - d.size) >>> 0;
  writeMemory(cpu, SS, esp, 2, cpu.segSelector[d.reg]);
  cpu.r32[4] = esp;
}
export function popSegment(cpu: Cpu, d: Decoded): void {
  const esp = cpu.r32[4] >>> 0;
  const selector = readMemory(cpu, SS, esp, d.size) & 0xffff;
  loadDataSegment(cpu, d.reg, selector);
  cpu.r32[4] = esp + d.size;
  if (d.reg === SS && !mutated('ss-load-leaves-no-shadow')) cpu.interruptShadow = true;
}

/** Can the current CPL/RPL see this descriptor (conforming code always)? */
function visible(cpu: Cpu, selector: number, a: number): boolean {
  if (isCode(a) && isConforming(a)) return true;
  return dplOf(a) >= cpu.cpl && dplOf(a) >= (selector & 3);
}

const LAR_SYSTEM_TYPES = new Set([1, 2, 3, 4, 5, 9, 0xb, 0xc]);
const LSL_SYSTEM_TYPES = new Set([1, 2, 3, 9, 0xb]);

/** LAR (variant 0) and LSL (variant 1): ZF = 1 and the result when visible. */
export function loadAccessOrLimit(cpu: Cpu, d: Decoded): void {
  const selector = readRM(cpu, d, 2);
  const desc = (selector & 0xfffc) === 0 ? null : readDescriptor(cpu, selector);
  const a = desc === null ? 0 : attributesOf(desc.high);
  const typeOk = a & 0x10 ? true : (d.variant === 0 ? LAR_SYSTEM_TYPES : LSL_SYSTEM_TYPES).has(a & 0xf);
  if (desc === null || !typeOk || !visible(cpu, selector, a)) { setFlags(cpu, ZF, 0); return; }
  const value = d.variant === 0 ? desc.high & 0x00f0ff00 : limitOf(desc);
  cpu.writeRegister(d.size, d.reg, d.size === 2 ? value & 0xffff : value >>> 0);
  setFlags(cpu, ZF, ZF);
}

/** VERR (variant 4) and VERW (variant 5). */
export function verifySegment(cpu: Cpu, d: Decoded): void {
  const selector = readRM(cpu, d, 2);
  const desc = (selector & 0xfffc) === 0 ? null : readDescriptor(cpu, selector);
  const a = desc === null ? 0 : attributesOf(desc.high);
  let ok = desc !== null && (a & 0x10) !== 0 && visible(cpu, selector, a);
  if (ok) ok = d.variant === 4 ? !isCode(a) || (a & 2) !== 0 : !isCode(a) && (a & 2) !== 0;
  setFlags(cpu, ZF, ok ? ZF : 0);
}

export function invalidateTlbEntry(cpu: Cpu, d: Decoded): void {
  if (d.mod === 3) ud();
  requireRing0(cpu);
  // No segment limit check: INVLPG takes the linear address as computed.
  if (!mutated('invlpg-does-nothing')) invalidatePage(cpu, (cpu.segBase[d.segment] + effectiveOffset(cpu, d)) >>> 0);
}

const word = (text: string, at: number): number =>
  (text.charCodeAt(at) | (text.charCodeAt(at + 1) << 8) | (text.charCodeAt(at + 2) << 16) | (text.charCodeAt(at + 3) << 24)) >>> 0;
const VENDOR = 'MesovirtIA32';

/** CPUID with the model's fixed answer (SYS.CPUID.1): leaf 0 gives EAX = 1
 * and the vendor "MesovirtIA32" in EBX, EDX, ECX; leaf 1 gives family 6 and
 * EDX = PSE; every other leaf zeros. */
export function cpuIdentification(cpu: Cpu): void {
  const leaf = cpu.r32[0] >>> 0;
  let a = 0, b = 0, c = 0, dx = 0;
  if (leaf === 0) { a = 1; b = word(VENDOR, 0); dx = word(VENDOR, 4); c = word(VENDOR, 8); }
  else if (leaf === 1) { a = 0x633; dx = 0x8938; } // PSE TSC MSR CX8 SEP CMOV; no FPU
  cpu.r32[0] = a; cpu.r32[3] = b; cpu.r32[1] = c; cpu.r32[2] = dx;
}

export const undefinedInstruction = (): void => ud();
export function writeBackInvalidate(cpu: Cpu): void { requireRing0(cpu); }

/** INT imm8: a software interrupt; the gate DPL must admit the CPL. */
export function softwareInterrupt(cpu: Cpu, d: Decoded): void {
  deliver(cpu, d.imm, null, Source.Software, cpu.next);
  cpu.softwareVector = d.imm;
}
export function breakpoint(cpu: Cpu): void {
  deliver(cpu, 3, null, Source.Software, cpu.next);
  cpu.softwareVector = 3;
}
/** INT1 (F1): #DB as a trap, delivered like an exception (no gate-DPL check, EXT = 1). */
export function debugTrap(cpu: Cpu): void {
  deliver(cpu, 1, null, Source.Exception, cpu.next);
  cpu.softwareVector = 1;
}
export function interruptOnOverflow(cpu: Cpu): void {
  if (!flag(cpu, OF)) return;
  deliver(cpu, 4, null, Source.Software, cpu.next);
  cpu.softwareVector = 4;
}

/** ARPL r/m16, r16: raise the destination selector's RPL to the source's (ZF = 1), else ZF = 0 and no write. */
export function adjustRpl(cpu: Cpu, d: Decoded): void {
  const at = destination(cpu, d, 2);
  const selector = readDestination(cpu, d, at, 2), requested = cpu.r32[d.reg] & 3;
  if ((selector & 3) >= requested) { setFlags(cpu, ZF, 0); return; }
  writeDestination(cpu, d, at, 2, (selector & ~3) | requested);
  setFlags(cpu, ZF, ZF);
}

/** BOUND reg, m32&32: #BR when the signed index is outside [lower, upper]. */
export function checkBounds(cpu: Cpu, d: Decoded): void {
  if (d.mod === 3) ud();
  const at = effectiveOffset(cpu, d), size = d.size;
  const lower = signExtend(readMemory(cpu, d.segment, at, size), size);
  const upper = signExtend(readMemory(cpu, d.segment, (at + size) >>> 0, size), size);
  const index = signExtend(cpu.readRegister(size, d.reg), size);
  if (index < lower || index > upper) fault(BR);
}
