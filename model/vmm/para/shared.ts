// The monitor's side of the shared page: plain reads and writes of the
// guest-physical page the guest registered (no exit is ever needed for them).
import { readPhysical, writePhysical } from '../../cpu/memory';
import { IF } from '../../cpu/eflags';
import { guestToMachine } from '../guest-paging';
import { monitorMachine } from '../frame';
import type { World } from '../state';
import { Shared } from './interface';

/** The virtual IF (0 before the guest registered its shared page). */
export function virtualIf(world: World): boolean {
  const shared = world.vmm.para?.shared ?? null;
  if (shared === null) return false;
  return (readPhysical(world.machine.memory, guestToMachine(world.vmm.config, shared + Shared.virtualIf), 1) & 1) !== 0;
}

/** Write one field of the shared page (nothing before registration). */
export function writeShared(world: World, offset: number, bytes: 1 | 4, value: number): World {
  const shared = world.vmm.para?.shared ?? null;
  if (shared === null) return world;
  const memory = writePhysical(world.machine.memory, guestToMachine(world.vmm.config, shared + offset), bytes, value >>> 0);
  return { ...world, machine: { ...world.machine, memory } };
}

/** [PARA.IF.1] The real IF is 1 whenever a para guest runs: the frame the
 * monitor is about to return with (at the monitor's ESP, no error code)
 * gets IF set. */
export function forceInterruptsOn(world: World): World {
  const { machine, vmm } = world;
  if (vmm.stopped !== null) return world;
  const at = monitorMachine(vmm.config, (machine.regs[4]! + 8) >>> 0);
  const eflags = readPhysical(machine.memory, at, 4);
  if ((eflags & IF) !== 0) return world;
  return { ...world, machine: { ...machine, memory: writePhysical(machine.memory, at, 4, (eflags | IF) >>> 0) } };
}
