// The fast imperative machine (impl/) behind the shared Machine interface.
import { ImplMachine } from '../../impl/machine';

/** With `recordWrites`, the machine notes the pages it writes (ImplMachine.writtenPages). */
export function createImplMachine(memorySize: number, options: { readonly recordWrites?: boolean } = {}): ImplMachine {
  return new ImplMachine(memorySize, options);
}
