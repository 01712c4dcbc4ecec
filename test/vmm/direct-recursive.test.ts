// [MEM.DIRECT.2] A guest directory that names itself as a page table (a
// recursive mapping) would show the monitor's own directory entry, which
// the monitor writes into slot vmmBase >> 22 of the guest's directory, as a
// page-table entry mapping the monitor's page table, writable at ring 1.
// Found by the direct-mode invariant property (VMM.RES) while issue 14's
// hostile slots were drawn there; the shrunk guest is kept in
// test/vmm/findings/direct-res-2026-12-02.json (its directory's slot 320
// names the directory); before the fix this test reported VMM.RES with the
// accessed bit set in that entry: the guest had walked the monitor's table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bootGuests, guestWorld, runGuests } from '../../model/vmm/guests/world';
import { hostilePagedImage, type HostilePagedGuest } from '../../properties/vmm/ni-guests';
import { checkModeStep } from '../../properties/vmm/ni-invariants';

function violations(image: Uint8Array, steps: number): string[] {
  const b = bootGuests([{ name: 'hostile', image }], 'direct');
  if (b.kind !== 'ok') throw new Error(b.message);
  const boot = guestWorld(b.world, 0);
  const found: string[] = [];
  runGuests(b.world, steps, (s, w) => {
    const v = checkModeStep(boot, s, w);
    if (v !== null && found.length < 3) found.push(`[${v.rule}] ${v.message}`);
  });
  return found;
}

describe('[MEM.DIRECT.2] direct paging refuses a directory that maps itself', () => {
  it('the shrunk counterexample of the invariant property keeps the monitor\'s page table out of reach', () => {
    const finding = JSON.parse(readFileSync('test/vmm/findings/direct-res-2026-12-02.json', 'utf8')) as { pagedGuest: HostilePagedGuest };
    expect(violations(hostilePagedImage(finding.pagedGuest), 1500)).toEqual([]);
  });
});
