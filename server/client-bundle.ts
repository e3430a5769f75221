// The browser pages: TypeScript in client/ bundled by esbuild once at start-up, served from memory.
import { buildSync } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const CLIENT = join(import.meta.dirname, '..', 'client');

export function buildClient(): Map<string, { type: string; body: string }> {
  const out = new Map<string, { type: string; body: string }>();
  for (const page of ['label', 'project', 'dashboard']) {
    const r = buildSync({ entryPoints: [join(CLIENT, `${page}.ts`)], bundle: true, write: false, format: 'iife', target: 'es2020', minify: false });
    out.set(`${page}.js`, { type: 'application/javascript', body: r.outputFiles[0].text });
  }
  out.set('style.css', { type: 'text/css', body: readFileSync(join(CLIENT, 'style.css'), 'utf8') });
  return out;
}

export function clientPage(page: 'label' | 'project' | 'dashboard'): string {
  const title = { label: 'Label', project: 'Project', dashboard: 'Runs' }[page];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>rlhf-trainer · ${title}</title><link rel="stylesheet" href="/static/style.css"></head>
<body><main id="app"><p>Loading…</p></main><script src="/static/${page}.js"></script></body></html>`;
}
