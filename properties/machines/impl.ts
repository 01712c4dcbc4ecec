// The fast imperative machine (impl/) behind the shared Machine interface.
import type { Machine } from '../../model/machine';
import { ImplMachine } from '../../impl/machine';

export function createImplMachine(memorySize: number): Machine & { run(limit: number): ReturnType<Machine['step']> } {
  return new ImplMachine(memorySize);
}
