// [VMM.REFINE] gandalf's virtual CPU, read out of machine memory: the
// structure at machine 0x9000 that gandalf/config.inc documents (V_*
// offsets), in the shape of model/vmm's VirtualCpu and exit counters.
import type { Machine } from '../../model/machine';
import type { VirtualCpu } from '../../model/vmm/state';
import { HYPERCALL_NAMES } from '../../model/vmm/para/interface';

/** Machine MONITOR_BASE + 0x9000: MONITOR_BASE is 0, or 16 MiB in the direct build (gandalf/config.inc). */
export const VCPU_ADDRESS = 0x9000;
export const DIRECT_MONITOR_BASE = 0x01000000;
const MAGIC = 0x46444e47; // 'GNDF'
const V = {
  magic: 0x00, cr0: 0x08, cr2: 0x0c, cr3: 0x10, cr4: 0x14, gdtrLimit: 0x18, gdtrBase: 0x1c, idtrLimit: 0x20, idtrBase: 0x24,
  ldtr: 0x28, tr: 0x2c, stopped: 0x30, tablesInUse: 0x34, refusals: 0x38, interrupts: 0x100, intN: 0x500, reflects: 0x900,
  pageFaults: 0x980, emulated: 0x984,
} as const;
/** The E_* order of gandalf/config.inc: the mnemonics gandalf emulates, then the rest. */
export const EMULATED = ['cli', 'sti', 'hlt', 'lgdt', 'lidt', 'lldt', 'ltr', 'mov', 'clts', 'lmsw', 'invlpg', 'in', 'out'] as const;
export const OTHER_PRIVILEGED = 'emulate (other)';

export interface GandalfVcpu {
  readonly magic: number;
  readonly vcpu: VirtualCpu;
  /** Exits by reason, named as model/vmm names them (state.ts countExit). */
  readonly exits: Readonly<Record<string, number>>;
  readonly refusals: number;
  readonly tablesInUse: number;
  /** 0 while the guest runs; 1 a bad boot; 2 the guest stopped. */
  readonly stopped: number;
}

/** Where gandalf's virtual CPU is: the direct build's place when it holds the magic, else the others'. */
export function vcpuAddress(machine: Machine): number {
  const at = DIRECT_MONITOR_BASE + VCPU_ADDRESS;
  const b = machine.readPhysical(at, 4);
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0 === MAGIC ? at : VCPU_ADDRESS;
}

export function readGandalfVcpu(machine: Machine, address: number = vcpuAddress(machine)): GandalfVcpu {
  const bytes = machine.readPhysical(address, 0xa00);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const d = (at: number): number => view.getUint32(at, true);
  const exits: Record<string, number> = {};
  const count = (name: string, n: number): void => { if (n !== 0) exits[name] = (exits[name] ?? 0) + n; };
  for (let v = 0; v < 256; v++) count(`interrupt ${v}`, d(V.interrupts + 4 * v));
  for (let v = 0; v < 256; v++) count(`INT ${v}`, d(V.intN + 4 * v));
  for (let v = 0; v < 32; v++) count(`reflect ${v}`, d(V.reflects + 4 * v));
  count('page fault', d(V.pageFaults));
  EMULATED.forEach((m, i) => count(`emulate ${m}`, d(V.emulated + 4 * i)));
  count(OTHER_PRIVILEGED, d(V.emulated + 4 * EMULATED.length));
  const para = readGandalfPara(machine);
  if (para !== null) for (const [name, n] of Object.entries(para.exits)) count(name, n);
  return {
    magic: d(V.magic),
    vcpu: {
      cr0: d(V.cr0), cr2: d(V.cr2), cr3: d(V.cr3), cr4: d(V.cr4),
      gdtr: { base: d(V.gdtrBase), limit: d(V.gdtrLimit) & 0xffff }, idtr: { base: d(V.idtrBase), limit: d(V.idtrLimit) & 0xffff },
      ldtr: d(V.ldtr) & 0xffff, tr: d(V.tr) & 0xffff,
    },
    exits, refusals: d(V.refusals), tablesInUse: d(V.tablesInUse), stopped: d(V.stopped),
  };
}

/** model/vmm's exit counters with the privileged instructions gandalf does not emulate collapsed into one. */
export function modelExitsAsGandalfCounts(exits: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(exits)) {
    const key = name.startsWith('emulate ') && !(EMULATED as readonly string[]).includes(name.slice(8)) ? OTHER_PRIVILEGED : name;
    out[key] = (out[key] ?? 0) + n;
  }
  return out;
}

/** [GANDALF.PARA.1] The para state of the -DPARA build (gandalf/para.inc), 0x3000 past the virtual CPU. */
const PARA_OFFSET = 0x3000;
const PARA_MAGIC = 0x41524150; // 'PARA'
const P = { shared: 0x04, pending: 0x08, applied: 0x0c, refused: 0x10, adoptedCount: 0x14, hypercalls: 0x40, refusedCalls: 0x80, held: 0x400, late: 0x800 } as const;

export interface GandalfPara {
  /** Guest-physical address of the shared page, or null before register_shared. */
  readonly shared: number | null;
  readonly pending: number | null;
  readonly mmuApplied: number;
  readonly mmuRefused: number;
  /** The adopted frames and their levels (1 page table, 2 directory), as model/vmm's ParaState.tables. */
  readonly tables: Readonly<Record<number, 1 | 2>>;
  /** The para exits by reason, named as model/vmm/para names them. */
  readonly exits: Readonly<Record<string, number>>;
}

/** gandalf's para state, or null for a build without -DPARA. */
export function readGandalfPara(machine: Machine): GandalfPara | null {
  const base = vcpuAddress(machine) + PARA_OFFSET;
  const bytes = machine.readPhysical(base, 0x1000);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const d = (at: number): number => view.getUint32(at, true);
  if (d(0) !== PARA_MAGIC) return null;
  const exits: Record<string, number> = {};
  const count = (name: string, n: number): void => { if (n !== 0) exits[name] = (exits[name] ?? 0) + n; };
  HYPERCALL_NAMES.forEach((name, i) => count(`hypercall ${name}`, d(P.hypercalls + 4 * i)));
  count('hypercall unknown', d(P.hypercalls + 4 * HYPERCALL_NAMES.length));
  count('refused hypercall', d(P.refusedCalls));
  for (let v = 0; v < 256; v++) count(`interrupt ${v} held`, d(P.held + 4 * v));
  for (let v = 0; v < 256; v++) count(`interrupt ${v} delivered late`, d(P.late + 4 * v));
  const levels = machine.readPhysical(base + 0x1000, 0x1000);
  const tables: Record<number, 1 | 2> = {};
  levels.forEach((level, frame) => { if (level === 1 || level === 2) tables[frame] = level; });
  const optional = (v: number): number | null => (v === 0xffffffff ? null : v);
  return { shared: optional(d(P.shared)), pending: optional(d(P.pending)), mmuApplied: d(P.applied), mmuRefused: d(P.refused), tables, exits };
}
