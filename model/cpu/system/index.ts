// The system-level instruction handlers, merged. MOV/PUSH/POP with a segment
// or control register operand are routed to their handlers by execute.ts.
import type { Handler } from '../outcome';
import { flagHandlers } from './flags';
import { ioHandlers } from './io';
import { tableHandlers } from './tables';
import { segmentHandlers } from './segments';
import { transferHandlers } from './transfers';
import { msrHandlers } from './msr';
import { fpuHandlers } from './fpu';

export { moveControlRegister } from './tables';
export { moveSegment, pushSegment, popSegment } from './segments';

export const systemHandlers: Readonly<Record<string, Handler>> = {
  ...flagHandlers, ...ioHandlers, ...tableHandlers, ...segmentHandlers, ...transferHandlers, ...msrHandlers, ...fpuHandlers,
};
