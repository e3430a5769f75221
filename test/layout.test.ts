// The layering rules of the README's Layout section, checked on the imports of every source file, and no
// import circle anywhere:
//   backend/ imports nothing of ours; lm/ only backend/; protocol/ nothing at all; client/ only protocol/;
//   data/ never client/ and never (through anything it imports) tfjs; the trainers (sft/, rl/, reward-models/,
//   dpo/) never server/ or cli/;
//   labelers/ (clients of the labeling API) only protocol/ and reward-models/, and no trainer or data/ uses them;
//   queue/ (a model's samples into the store) never server/, labelers/ or demo/; demo/ (the loop wired end to
//   end) never cli/ or client/, and nothing below it imports it;
//   outside backend/, only backend/backend.ts (choosing a backend) and backend/accel.ts (fused ops, views,
//   vector maths) are imported: nothing else reaches the native addon or tfjs internals.
// Imports are read as text (static import/export ... from, and import('...') with a literal), which is
// all this code base uses; a variable import is not followed (rl/reward-source.ts names one on purpose).
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const FOLDERS = ['backend', 'protocol', 'lm', 'train', 'sft', 'rl', 'reward-models', 'dpo', 'data', 'server', 'client', 'cli', 'labelers', 'queue', 'demo'];
const TRAINERS = ['train', 'sft', 'rl', 'reward-models', 'dpo'];

/** Allowed folders of our own that files of `from` may import (null: any). */
const ALLOWED: Record<string, string[] | null> = {
  backend: ['backend'],
  protocol: ['protocol'],
  lm: ['lm', 'backend'],
  client: ['client', 'protocol'],
  // a client of the API talks HTTP to a server, never imports one; what it answers comes from reward-models/
  labelers: ['labelers', 'protocol', 'reward-models'],
};
const FORBIDDEN: Record<string, string[]> = {
  data: ['client', 'server', 'cli', 'labelers', 'queue', 'demo'],
  ...Object.fromEntries(TRAINERS.map((t) => [t, ['server', 'cli', 'client', 'labelers', 'demo']])),
  queue: ['server', 'cli', 'client', 'labelers', 'demo'],
  demo: ['cli', 'client'],
  server: ['demo', 'labelers'],
};

/** The files of backend/ that other folders may import. */
const BACKEND_FACES = ['backend/backend.ts', 'backend/accel.ts'];

const SPEC = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

/** The specifiers a source text imports. */
export function importsOf(text: string): string[] {
  return [...text.matchAll(SPEC)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** file (relative to the root, e.g. lm/model.ts) -> the files and packages it imports. */
function graph(files: Map<string, string>): Map<string, { ours: string[]; packages: string[] }> {
  const g = new Map<string, { ours: string[]; packages: string[] }>();
  for (const [file, text] of files) {
    const ours: string[] = [];
    const packages: string[] = [];
    for (const s of importsOf(text)) {
      if (s.startsWith('.')) ours.push(normalize(join(dirname(file), s)).replace(/\.js$/, '.ts'));
      else if (!s.startsWith('node:')) packages.push(s);
    }
    g.set(file, { ours, packages });
  }
  return g;
}

const folderOf = (file: string) => file.split('/')[0];

/** Every broken rule, as 'file -> import: rule'. */
export function violations(files: Map<string, string>): string[] {
  const g = graph(files);
  const out: string[] = [];
  for (const [file, { ours, packages }] of g) {
    const from = folderOf(file);
    for (const target of ours) {
      const to = folderOf(target);
      const allowed = ALLOWED[from];
      if (allowed && !allowed.includes(to)) out.push(`${file} -> ${target}: ${from}/ may import only ${allowed.join(', ')}`);
      if (FORBIDDEN[from]?.includes(to)) out.push(`${file} -> ${target}: ${from}/ never imports ${to}/`);
      if (to === 'backend' && from !== 'backend' && !BACKEND_FACES.includes(target)) out.push(`${file} -> ${target}: outside backend/, import only ${BACKEND_FACES.join(' or ')}`);
    }
    if (from === 'protocol' && packages.length) out.push(`${file} -> ${packages[0]}: protocol/ depends on nothing`);
    if (from === 'data') {
      // tfjs anywhere below a data/ file: walk what it imports
      const seen = new Set<string>();
      const todo = [file];
      for (let f = todo.pop(); f; f = todo.pop()) {
        if (seen.has(f)) continue;
        seen.add(f);
        const n = g.get(f);
        if (!n) continue;
        const tf = n.packages.find((p) => p.startsWith('@tensorflow/'));
        if (tf) {
          out.push(`${file} -> ${f === file ? tf : `${f} -> ${tf}`}: data/ never imports tfjs`);
          break;
        }
        todo.push(...n.ours);
      }
    }
  }
  return out;
}

/** Import cycles among our files (type-only imports included), each as a path a -> b -> ... -> a. */
export function cycles(files: Map<string, string>): string[] {
  const g = graph(files);
  const out: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of g.get(f)?.ours ?? []) {
      if (!g.has(t)) continue;
      if (state.get(t) === 'open') out.push([...stack.slice(stack.indexOf(t)), t].join(' -> '));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...g.keys()].sort()) if (!state.has(f)) visit(f);
  return out;
}

function sources(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|mts|mjs)$/.test(name)) files.set(relative(ROOT, p), readFileSync(p, 'utf8'));
    }
  };
  for (const f of FOLDERS) walk(join(ROOT, f));
  return files;
}

describe('layout: the layering rules hold in code', () => {
  it('no source file breaks a rule', () => {
    const files = sources();
    expect(files.size).to.be.above(100);
    expect(violations(files)).to.deep.equal([]);
  });

  it('no import circle between our files', () => {
    expect(cycles(sources())).to.deep.equal([]);
    expect(cycles(new Map([['server/a.ts', "import type { R } from './b.js';"], ['server/b.ts', "import { x } from './a.js';"]]))).to.deep.equal(['server/a.ts -> server/b.ts -> server/a.ts']);
  });

  it('a forbidden import is caught, also through another file', () => {
    const files = new Map([
      ['lm/model.ts', "import { x } from '../train/adamw.js';\nimport * as tf from '@tensorflow/tfjs';"],
      ['train/adamw.ts', "export { y } from '../server/app.js';"],
      ['backend/backend.ts', "import type { T } from '../lm/config.js';"],
      ['client/label.ts', "import { RunView } from '../data/store.js';"],
      ['protocol/wire.ts', "import type { Role } from 'zod';"],
      ['data/prefs.ts', "import { jsonError } from '../lm/json-error.js';"],
      ['lm/json-error.ts', "const m = await import('./heavy.js');"],
      ['lm/heavy.ts', "import * as tf from '@tensorflow/tfjs';"],
      ['rl/ppo.ts', "import { startServer } from '../server/app.js';"],
      ['sft/train-step.ts', "import { nativeAddon } from '../backend/native-backend.js';"],
      ['labelers/simulated-labeler.ts', "import { startServer } from '../server/app.js';"],
      ['rl/online/loop.ts', "import { simulateLabeler } from '../../labelers/simulated-labeler.js';"],
      ['demo/demo.ts', "import { Progress } from '../cli/progress.js';"],
      ['queue/fill-queue.ts', "import { startServer } from '../server/app.js';"],
      ['dpo/dpo.ts', "import { startServer } from '../server/app.js';"],
    ]);
    const v = violations(files);
    expect(v).to.include("lm/model.ts -> train/adamw.ts: lm/ may import only lm, backend");
    expect(v).to.include('train/adamw.ts -> server/app.ts: train/ never imports server/');
    expect(v).to.include('backend/backend.ts -> lm/config.ts: backend/ may import only backend');
    expect(v).to.include('client/label.ts -> data/store.ts: client/ may import only client, protocol');
    expect(v).to.include('protocol/wire.ts -> zod: protocol/ depends on nothing');
    expect(v).to.include('data/prefs.ts -> lm/heavy.ts -> @tensorflow/tfjs: data/ never imports tfjs');
    expect(v).to.include('rl/ppo.ts -> server/app.ts: rl/ never imports server/');
    expect(v).to.include('sft/train-step.ts -> backend/native-backend.ts: outside backend/, import only backend/backend.ts or backend/accel.ts');
    expect(v).to.include('labelers/simulated-labeler.ts -> server/app.ts: labelers/ may import only labelers, protocol, reward-models');
    expect(v).to.include('rl/online/loop.ts -> labelers/simulated-labeler.ts: rl/ never imports labelers/');
    expect(v).to.include('demo/demo.ts -> cli/progress.ts: demo/ never imports cli/');
    expect(v).to.include('queue/fill-queue.ts -> server/app.ts: queue/ never imports server/');
    expect(v).to.include('dpo/dpo.ts -> server/app.ts: dpo/ never imports server/');
    expect(v).to.have.length(13);
  });
});
