// The three memory modes of the monitor, as one tagged union kept in the
// monitor's state (VmmState.memory; absent means shadow-single, the mode the
// monitor was first written with). Each mode's rules live in its own file;
// dispatch.ts routes the three memory events (a guest page fault, a write
// to the guest's paging registers, a guest INVLPG) to the mode.

export type MemoryModeName = 'shadow-single' | 'shadow-multi' | 'direct';
export const MEMORY_MODES: readonly MemoryModeName[] = ['shadow-single', 'shadow-multi', 'direct'];

/** Rules of shadow-multi; a mutant replaces one. */
export interface MultiShadowRules {
  /** [MEM.MULTI.4] Does a guest write to a covered page-table page drop the shadow entries derived from it? */
  readonly dropOnTableWrite: boolean;
}

/** Rules of direct; a mutant replaces one. */
export interface DirectRules {
  /** [MEM.DIRECT.3] Are the guest's page-table pages made read-only when its tables are validated? */
  readonly protectTables: boolean;
}

export const defaultMultiShadowRules: MultiShadowRules = { dropOnTableWrite: true };
export const defaultDirectRules: DirectRules = { protectTables: true };

/** Where a shadow entry came from: a guest page directory (the whole space)
 * or one guest page table (one directory slot of one space). */
export interface Dependent {
  readonly space: number;
  /** Directory slot, or -1 for every slot of the space. */
  readonly slot: number;
}

/** A shadow entry that maps a guest frame writable. */
export interface WritableMapping {
  readonly space: number;
  readonly linear: number;
}

/** One cached address space of shadow-multi. */
export interface CachedSpace {
  /** The guest CR3 it shadows (page-aligned), or -1 for guest paging off. */
  readonly key: number;
  /** Machine address of the pool frame that holds its directory while it is not active (null: never saved). */
  readonly saved: number | null;
}

export interface MultiShadowState {
  readonly kind: 'shadow-multi';
  readonly rules: MultiShadowRules;
  readonly spaces: readonly CachedSpace[];
  /** Key of the space the real directory holds now. */
  readonly active: number;
  /** Pool frames handed out since the last full flush. */
  readonly poolUsed: number;
  /** Ghost of the protection: guest-physical frame of a page-table page -> the shadow entries derived from it. */
  readonly covered: ReadonlyMap<number, readonly Dependent[]>;
  /** Guest-physical frame -> shadow entries that map it writable (a superset: stale ones are harmless). */
  readonly writable: ReadonlyMap<number, readonly WritableMapping[]>;
  /** Covered frames the guest may write without an exit until its next CR3
   * write: their first write already dropped the entries derived from them. */
  readonly unsynced: ReadonlySet<number>;
}

export interface DirectState {
  readonly kind: 'direct';
  readonly rules: DirectRules;
  /** Machine frames of the page-table pages of the validated tables (directory and tables); empty while guest paging is off. */
  readonly tables: ReadonlySet<number>;
  /** Machine addresses of guest entries whose R/W bit the monitor cleared to protect a page-table page. */
  readonly demoted: ReadonlySet<number>;
}

export type MemoryState = { readonly kind: 'shadow-single' } | MultiShadowState | DirectState;

export function initialMemoryState(mode: MemoryModeName, rules?: { multi?: MultiShadowRules; direct?: DirectRules }): MemoryState {
  switch (mode) {
    case 'shadow-single': return { kind: 'shadow-single' };
    case 'shadow-multi': return {
      kind: 'shadow-multi', rules: rules?.multi ?? defaultMultiShadowRules, spaces: [{ key: -1, saved: null }], active: -1,
      poolUsed: 0, covered: new Map(), writable: new Map(), unsynced: new Set(),
    };
    case 'direct': return { kind: 'direct', rules: rules?.direct ?? defaultDirectRules, tables: new Set(), demoted: new Set() };
  }
}
