import { register as cases } from './cases';
import { register as gencases } from './gencases';
import { register as asm } from './asm';
import { register as run } from './run';
import { register as disasm } from './disasm';
import { register as demo } from './demo';
import { register as bench } from './bench';
import { register as benchGuests } from './bench-guests';
import { register as benchLinux } from './bench-linux';
import { register as conformance } from './conformance';
import { register as audit } from './audit';
import { register as check } from './check';
import { register as replay } from './replay';
import { register as benchImpl } from './bench-impl';
import { register as benchGandalf } from './bench-gandalf';
import type { Command } from 'commander';

/** Each verb registers itself on the program; add new verbs to this list. */
export const commands: Array<(program: Command) => void> = [demo, cases, gencases, run, asm, disasm, bench, benchGuests, benchLinux, conformance, audit, check, replay, benchImpl, benchGandalf];
