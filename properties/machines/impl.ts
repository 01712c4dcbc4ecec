// The fast imperative machine (impl/) behind the shared Machine interface.
import { ImplMachine } from '../../impl/machine';

export function createImplMachine(memorySize: number): ImplMachine {
  return new ImplMachine(memorySize);
}
