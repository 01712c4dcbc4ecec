// The guest GDT of the directed tour guest (guests.ts tourGuest): ring-1 and
// ring-3 flat segments ending below the VMM base, the rest null; the hostile
// frame fixes its own last entries.
import { segmentDescriptor, type RawDescriptor } from '../../model/vmm/descriptors';

export function flatDescriptors(): RawDescriptor[] {
  const flat = (type: number, dpl: number): RawDescriptor => segmentDescriptor({ base: 0, limitField: 0xfbfff, type, dpl });
  const gdt: RawDescriptor[] = Array.from({ length: 31 }, () => ({ low: 0, high: 0 }));
  gdt[0] = flat(0xb, 1); gdt[1] = flat(0x3, 1); gdt[2] = flat(0xb, 3); gdt[3] = flat(0x3, 3);
  // Two the monitor must not install as they are: a DPL-0 data segment
  // (refused, VMM.DESC.2) and a flat 4 GiB one (truncated, VMM.DESC.3).
  gdt[4] = flat(0x3, 0);
  gdt[5] = segmentDescriptor({ base: 0, limitField: 0xfffff, type: 0x3, dpl: 1 });
  return gdt;
}
