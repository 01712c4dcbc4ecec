// Deliberately broken variants of impl, switched on one at a time by tests
// to prove that the differential checks notice them (DESIGN §5: every
// property must catch its mutants). With `mutation.active` null (always, in
// normal runs) each site costs one comparison.

export const MUTANTS = {
  'sbb-drops-carry': 'SBB ignores the carry in (computes a - b)',
  'popf-keeps-stale-lazy-flags': 'POPF writes EFLAGS but the lazy flags of the last ALU operation still win',
  'cr3-write-keeps-tlb': 'MOV CR3 does not flush the TLB',
  'store-keeps-stale-code': 'a store to a page with decoded instructions does not drop them',
  'expand-down-limit-off-by-one': 'an expand-down segment also allows the offset equal to its limit',
  'iret-outer-keeps-stack': 'IRET to an outer ring does not load SS:ESP from the frame',
  'page-fault-without-user-bit': 'the #PF error code never has the U/S bit',
  'rep-with-ecx-zero-runs-once': 'a REP string instruction with ECX = 0 still does one element',
  'shift-count-not-masked': 'shift counts are masked to 6 bits instead of 5 (a count of 32 shifts everything out)',
  'write-protect-ignored': 'CR0.WP is ignored: ring 0 may write read-only pages',
  'invlpg-does-nothing': 'INVLPG leaves the TLB entry in place',
  'flat-block-store-ignores-code': 'in the flat variant of a translated block, a store does not look for decoded instructions under it (self-modifying code is missed)',
  'iret-memo-unchecked': 'a remembered IRET is reused without checking that its GDT reads still hold (a changed descriptor is missed)',
  'push-frame-ignores-code': 'an interrupt frame pushed within one page is written straight to RAM even over decoded instructions (their stale decoding runs)',
  'block-ignores-single-step': 'translated blocks run while TF is set, so their instructions take no single-step trap',
  'inner-loop-ignores-budget': 'the back edge of an inner loop of a translated block (a JavaScript loop of its own) goes round again without checking the run budget, so the block runs past the limit or the timer',
  'flat-block-read-past-ram': 'in the flat variant of a translated block, a read that ends past the end of RAM is read from the typed array instead of through the executor (which reads 0xff there)',
  'inc-after-add-drops-carry': 'in a translated block, INC or DEC right after an inlined 32-bit ADD keeps CF as clear instead of the ADD\'s carry',
  'gate-memo-unchecked': 'a remembered inner-ring delivery is reused without checking that its IDT, GDT and TSS reads still hold',
  'watched-write-ignored': 'a write to a byte a memo read (a gate, descriptor or TSS word) does not move the watch epoch, so the memo stays in use',
  'memo-ignores-tlb': 'a memo\'s reads are taken to hold without comparing the TLB entries they were made through (a remapped IDT, GDT or TSS page is missed)',
  'memo-refresh-unwalked': 'a memo read through a TLB entry flushed since is taken to hold without walking the page again (no accessed bits set, no entry filled, no new frame noticed)',
  'memo-refresh-ignores-frame': 'a memo read through a TLB entry flushed since holds after the walk even when the page now lies in another frame',
  'ring-frame-skips-dirty': 'a delivery\'s frame is written straight to RAM through any TLB entry, even a clean one (the walk that sets the page\'s dirty bit is skipped)',
  'memo-unverified-when-made': 'a memo is made without reading its words once more, so a delivery whose frame overwrote one (pushed over the TSS) leaves a stale memo',
  'ss-load-leaves-no-shadow': 'MOV SS and POP SS do not hold an interrupt back for one instruction (no interrupt shadow)',
  'recycled-code-slots-kept': 'a released machine hands its frames\' decoded-instruction arrays to the next machines without emptying them (a fetch there finds the last machine\'s instructions)',
  'recycled-ram-not-zeroed': 'a released machine hands its RAM to the next machine without zeroing it (the next case starts with the last one\'s bytes)',
  'store-checks-first-byte-only': 'in a translated block, a store into a frame holding decoded code looks only at its first byte for code under it (a dword store whose last bytes overwrite an instruction keeps its stale decoding)',
  'walk-ahead-stops-logging': 'in a translated block, a TLB miss walked inline (fast-access.ts walkAhead) leaves the walk log off, so a later instruction of the block that faults keeps the A/D bits and TLB entries of its own walks',
  'first-write-unrecorded': 'a machine recording the frames it writes (memory.ts recordWrittenFrames) drops the mark of a frame at its first write without noting the frame',
  'fast-store-skips-record': 'fast-access.ts lets a translated block store straight to a frame not yet written by a recording machine when no decoded code lies under the store (the frame goes unrecorded)',
  'block-store-skips-record': 'the inline store of a translated block goes straight to a frame not yet written by a recording machine when no decoded code lies under it (the frame goes unrecorded)',
  'push-frame-skips-record': 'an interrupt frame is pushed straight to RAM in a frame that a recording machine has not yet written (the frame goes unrecorded)',
} as const;

export type MutantId = keyof typeof MUTANTS;

export const mutation: { active: MutantId | null } = { active: null };

export const mutated = (id: MutantId): boolean => mutation.active === id;
