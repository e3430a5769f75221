// Entry of the scoring worker thread: TypeScript through tsx, as bin/rlhf.js does for the CLI.
import { register } from 'tsx/esm/api';
register();
await import('./score-worker.ts');
