// Every user-level instruction handler, merged. model/cpu/execute.ts merges
// this record with the system handlers. MOV, PUSH and POP with a segment or
// control register operand are system instructions: the handlers here
// answer a model error for those forms (see isSystemForm), so the dispatcher
// must route them to model/cpu/system first.
import type { Handler } from '../outcome';
import { arithmeticHandlers } from './arithmetic';
import { bitHandlers } from './bits';
import { controlHandlers } from './control';
import { dataHandlers } from './data';
import { multiplyHandlers } from './multiply';
import { stackHandlers } from './stack';
import { stringHandlers } from './strings';

export { isSystemForm } from './common';

export const userHandlers: Readonly<Record<string, Handler>> = {
  ...dataHandlers,
  ...stackHandlers,
  ...arithmeticHandlers,
  ...multiplyHandlers,
  ...bitHandlers,
  ...stringHandlers,
  ...controlHandlers,
};
