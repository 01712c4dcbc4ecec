#!/usr/bin/env node
// Entry point of `npx mesovirt <verb>`: the command is written in TypeScript and
// run through tsx's loader, so no build step stands between a clone and a run.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
