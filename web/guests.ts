// The guests the explorer offers, assembled at site-build time by our own
// assembler (model/isa/asm) and embedded in the page as bytes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble, type AssembleOptions } from '../model/isa/asm/assemble';
import { formatError } from '../model/isa/asm/source';
import { KERNELS } from '../properties/conformance/kernels';
import { SiteError } from './errors';

export interface GuestSource {
  readonly name: string;
  readonly title: string;
  /** The source file, relative to the project root. */
  readonly source: string;
  readonly defines: Readonly<Record<string, string>>;
  /** Boots under the monitor (model/vmm) rather than on the bare machine. */
  readonly meso: boolean;
}

export const GUEST_SOURCES: readonly GuestSource[] = [
  { name: 'hello', title: 'hello: prints one line on port 0xE9 and exits', source: 'guests/hello/hello.asm', defines: { MULTIBOOT_AOUT_KLUDGE: '1' }, meso: false },
  ...KERNELS.map((k) => ({ name: k, title: `conformance kernel ${k}`, source: `guests/conformance/${k}.asm`, defines: {}, meso: false })),
  { name: 'teach', title: 'teach: paging, a timer-driven scheduler, system calls (native, ring 0)', source: 'guests/teach/teach.asm', defines: {}, meso: false },
  { name: 'teach-meso', title: 'teach, meso build, under the monitor (kernel in ring 1)', source: 'guests/teach/teach.asm', defines: { MESO: '1' }, meso: true },
];

/** What the page embeds for one guest. */
export interface BundledGuest {
  readonly name: string;
  readonly title: string;
  readonly source: string;
  readonly meso: boolean;
  /** The flat Multiboot image, base64. */
  readonly image: string;
  /** Labels by address (the lowest-named first), for "where is EIP". */
  readonly symbols: ReadonlyArray<readonly [string, number]>;
}

export function buildGuests(root: string): BundledGuest[] {
  const read = (path: string): string | null => {
    const full = path.startsWith('/') ? path : join(root, path);
    return existsSync(full) ? readFileSync(full, 'utf8') : null;
  };
  return GUEST_SOURCES.map((g) => {
    const options: AssembleOptions = { format: 'bin', defines: g.defines };
    const result = assemble(join(root, g.source), read, options);
    if (result.kind === 'error') {
      const first = result.errors.slice(0, 5).map((e) => formatError({ ...e, file: e.file.startsWith(root) ? e.file.slice(root.length + 1) : e.file }));
      throw new SiteError(`guest '${g.name}' does not assemble:\n${first.join('\n')}`);
    }
    const symbols = [...result.symbols].filter(([name]) => result.layout.labels.has(name) && !name.includes('.')).sort((a, b) => a[1] - b[1]);
    return { name: g.name, title: g.title, source: g.source, meso: g.meso, image: Buffer.from(result.bytes).toString('base64'), symbols };
  });
}
