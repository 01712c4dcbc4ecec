// The system-level instruction handlers, merged.
import type { Handler } from '../outcome';

export const systemHandlers: Readonly<Record<string, Handler>> = {};
