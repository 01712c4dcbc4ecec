// The guests of gandalf's default property run: the teaching kernel's meso
// build, random hostile ring-1/ring-3 guests (properties/vmm/hostile.ts)
// and random paged guests (properties/vmm/paged-guest.ts), each from a
// fixed seed (one guest per seed, so that a failure names its seed).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { assemble } from '../../model/isa/asm/assemble';
import { hostileGuest, hostileImage } from '../vmm/hostile';
import { pagedGuest, pagedGuestImage } from '../vmm/paged-guest';

const TEACH = join(import.meta.dirname, '..', '..', 'guests', 'teach', 'teach.asm');
const RTOS = join(import.meta.dirname, '..', '..', 'guests', 'rtos', 'rtos.asm');

function build(path: string, defines: Record<string, string>): Uint8Array {
  const r = assemble(path, (p) => (existsSync(p) ? readFileSync(p, 'utf8') : null), { format: 'bin', defines });
  if (r.kind !== 'ok') throw new Error(r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return r.bytes;
}

/** The RTOS guest (guests/rtos); its transcript names the tick at which each
 * task runs, so it equals the native one under gandalf only with a tick
 * longer than gandalf's work per tick (-DTICK=60000, GANDALF.TIME.1). */
export const rtos = (defines: Record<string, string> = {}): Uint8Array => build(RTOS, defines);

/**
 * [GANDALF.TIME.1] The teaching kernel's meso build with a slower timer (PIT divisor 65535):
 * our machines count one timer tick per instruction, and the kernel's
 * 1193-instruction tick is shorter than gandalf's context switch (a CR3
 * write, then page faults to refill the shadow), so with it the kernel
 * livelocks under gandalf (gandalf/README.md). The transcript does not
 * depend on the divisor (guests/teach/README.md).
 */
export function teachMeso(defines: Record<string, string> = {}): Uint8Array {
  return teach({ MESO: '', PIT_DIVISOR: '65535', ...defines });
}

/** The teaching kernel with exactly these defines (native without MESO). */
export const teach = (defines: Record<string, string> = {}): Uint8Array => build(TEACH, defines);

export const HOSTILE_SEEDS = [1, 2, 5, 6, 10] as const;
export const PAGED_SEEDS = [19, 20, 21, 22] as const;

export const hostileAt = (seed: number): Uint8Array => hostileImage(fc.sample(hostileGuest, { seed, numRuns: 1 })[0]!);
export const pagedAt = (seed: number): Uint8Array => pagedGuestImage(fc.sample(pagedGuest, { seed, numRuns: 1 })[0]!, true);
