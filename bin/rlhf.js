#!/usr/bin/env node
// Entry point of the `rlhf` command: TypeScript sources run through tsx, so there is no build step.
import { register } from 'tsx/esm/api';
register();
await import('../cli/main.ts');
