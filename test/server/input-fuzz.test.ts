// Odd input on the labeling and task routes gets a 4xx that says what is wrong, never a 5xx: random
// mutations of valid bodies (deep nesting, huge numbers, wrong types, arrays for objects, lone UTF-16
// surrogates), raw texts JSON.parse takes but the schemas must refuse, and a run id that names no run.
import { expect } from 'chai';
import { join } from 'node:path';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';

// A seeded generator, so a failure names a case that can be replayed.
function rng(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

function oddValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * 16);
  switch (pick) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return [1e308, -1e308, 2 ** 53 + 1, -0, 0.5, -1, 1e21, Number.MAX_SAFE_INTEGER][Math.floor(r() * 8)];
    case 3: return '';
    case 4: return 'x'.repeat(Math.floor(r() * 30_000));
    case 5: return '\ud800';
    case 6: return `ok \udfff then`;
    case 7: return '\u0000<script>\u202e';
    case 8: return [];
    case 9: return {};
    case 10: return depth < 3 ? [oddValue(r, depth + 1), oddValue(r, depth + 1)] : 1;
    case 11: return depth < 3 ? { text: oddValue(r, depth + 1) } : 'y';
    case 12: return JSON.parse('['.repeat(2000) + ']'.repeat(2000));
    case 13: return JSON.parse('{"a":'.repeat(2000) + '1' + '}'.repeat(2000));
    case 14: return ['ranking', 'tie', 'skip', 'best'][Math.floor(r() * 4)];
    default: return Math.floor(r() * 5) - 1;
  }
}

/** A copy of value with one node somewhere inside replaced (or removed, or a field added). */
function mutate(value: unknown, r: () => number): unknown {
  if (r() < 0.25 || value === null || typeof value !== 'object') return oddValue(r);
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const keys = Object.keys(copy);
  const what = r();
  if (what < 0.1) copy[['__proto__', 'constructor', 'extra', '0'][Math.floor(r() * 4)]] = oddValue(r);
  else if (what < 0.2 && keys.length) delete copy[keys[Math.floor(r() * keys.length)]];
  else if (keys.length) {
    const k = keys[Math.floor(r() * keys.length)];
    copy[k] = mutate(copy[k], r);
  }
  return copy;
}

describe('server: odd input never gives a 5xx', function () {
  this.timeout(60_000);
  let store: Store;
  let srv: RunningServer;
  let researcher: string;
  let ann: string;
  let taskId: number;

  before(async () => {
    store = new Store(join(tempDir(), 'rlhf.db'));
    researcher = store.addUser('rita', 'researcher');
    ann = store.addUser('ann', 'labeler');
    store.addTasks(Array.from({ length: 50 }, (_, i) => ({ prompt: `p${i}`, completions: [{ text: 'a' }, { text: 'b' }, { text: 'c' }] })));
    srv = await startServer({ store, port: 0, rateLimit: 100_000 });
    taskId = store.nextTask(store.authenticate(ann)!.id)!.id;
  });
  after(async () => {
    await srv.close();
    store.close();
  });

  const send = async (token: string, method: string, path: string, raw?: string) => {
    const res = await fetch(srv.url + path, { method, headers: { Authorization: `Bearer ${token}`, ...(raw === undefined ? {} : { 'Content-Type': 'application/json' }) }, body: raw });
    const text = await res.text();
    let error: unknown;
    try {
      error = JSON.parse(text).error;
    } catch {
      error = text;
    }
    return { status: res.status, error };
  };

  it('a completion whose run_id names no run is a 400 naming the field, not a foreign-key 500', async () => {
    const body = { tasks: [task('fk0'), { prompt: 'fk1', completions: [{ text: 'a' }, { text: 'b', run_id: 'ghost' }] }] };
    const r = await send(researcher, 'POST', '/api/tasks', JSON.stringify(body));
    expect(r).to.deep.equal({ status: 400, error: 'tasks[1].completions[1].run_id: no run "ghost"' });
    expect(store.db.prepare("SELECT count(*) FROM prompts WHERE text LIKE 'fk%'").pluck().get()).to.equal(0);
  });

  it('a lone surrogate in any string of a label or task body is a 400 naming the field', async () => {
    const cases: [string, string, unknown, string][] = [
      ['/api/labels', ann, { taskId, clientId: 'x\ud800', kind: 'skip' }, 'body.clientId'],
      ['/api/labels', ann, { taskId, clientId: 'ok', kind: 'skip', rationale: 'fine \udc00' }, 'body.rationale'],
      ['/api/labels?next=true', ann, { taskId, clientId: 'ok', kind: 'skip', rationale: '\ud83d' }, 'body.rationale'],
      ['/api/tasks', researcher, { tasks: [{ ...task('s'), prompt: 'p \ud800' }] }, 'body.tasks[0].prompt'],
      ['/api/tasks', researcher, { tasks: [task('s'), { prompt: 'q', completions: [{ text: 'a' }, { text: '\udfff' }] }] }, 'body.tasks[1].completions[1].text'],
      ['/api/tasks', researcher, { tasks: [{ ...task('s'), source: '\ud800' }] }, 'body.tasks[0].source'],
      ['/api/tasks', researcher, { tasks: [{ prompt: 'm', completions: [{ text: 'a', model: 'gpt\ud800' }, { text: 'b' }] }] }, 'body.tasks[0].completions[0].model'],
      ['/api/tasks', researcher, { tasks: [{ ...task('s'), messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'x\udc00' }] }] }, 'body.tasks[0].messages[1].content'],
    ];
    for (const [path, tok, body, field] of cases) {
      const r = await send(tok, 'POST', path, JSON.stringify(body)); // JSON.stringify writes a lone surrogate as \\udXXX
      expect(r, `${path} ${field}`).to.deep.equal({ status: 400, error: `${field}: contains a lone UTF-16 surrogate (not valid Unicode)` });
    }
    // a well-formed pair (an emoji) is fine
    expect((await send(ann, 'POST', '/api/labels', JSON.stringify({ taskId, clientId: 'emoji', kind: 'skip', rationale: '\ud83d\ude00' }))).status).to.equal(201);
    expect(store.db.prepare("SELECT rationale FROM labels WHERE client_id = 'emoji'").pluck().get()).to.equal('\ud83d\ude00');
    // and a free-form object (a run's config) is walked too, as is its depth
    // (JSON.stringify overflows the stack on 5000 levels, which is why the server refuses them)
    for (const [config, msg] of [[JSON.stringify({ a: [{ b: '\ud800' }] }), 'body.config.a[0].b: contains a lone UTF-16'], ['{"a":'.repeat(5000) + '1' + '}'.repeat(5000), 'nested deeper than 32 levels']]) {
      const r = await send(researcher, 'POST', '/api/runs', `{"kind": "sft", "config": ${config}}`);
      expect(r.status).to.equal(400);
      expect(r.error).to.include(msg);
    }
  });

  it('a reused client id with another answer, and a late label on a reassigned task, are 409s', async () => {
    const bob = store.addUser('bob', 'labeler');
    const cid = store.addUser('cid', 'labeler');
    const next = async (tok: string) => (await fetch(srv.url + '/api/tasks/next', { headers: { Authorization: `Bearer ${tok}` } }).then((x) => x.json())).id as number;
    const t = await next(bob);
    expect((await send(bob, 'POST', '/api/labels', JSON.stringify({ taskId: t, clientId: 'same', kind: 'tie', rationale: 'same length' }))).status).to.equal(201);
    const again = await send(bob, 'POST', '/api/labels', JSON.stringify({ taskId: t, clientId: 'same', kind: 'tie', rationale: 'a is longer' }));
    expect(again).to.deep.equal({ status: 409, error: `client id 'same' was already used for a different label on task ${t}` });
    const u = await next(cid);
    store.db.prepare("UPDATE assignments SET assigned_at = '2000-01-01T00:00:00.000Z' WHERE task_id = ?").run(u);
    expect(await next(bob)).to.equal(u); // cid's hold lapsed: handed to bob
    const late = await send(cid, 'POST', '/api/labels', JSON.stringify({ taskId: u, clientId: 'late', kind: 'skip' }));
    expect(late).to.deep.equal({ status: 409, error: `task ${u}: assignment expired and the task was reassigned` });
  });

  it('random mutations of valid label and task bodies, and raw odd texts, all get a 4xx with a message', async () => {
    const r = rng(12345);
    const valid: [string, string, () => unknown][] = [
      ['/api/labels', ann, () => ({ taskId, clientId: `c${r()}`, kind: 'ranking', ranking: [2, 0, 1], rationale: 'because', ms: 100 })],
      ['/api/labels?next=true', ann, () => ({ taskId, clientId: `c${r()}`, kind: 'tie', ms: 5 })],
      ['/api/tasks', researcher, () => ({ tasks: [{ prompt: `fz${r()}`, messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'q' }], completions: [{ text: 'a', tokens: 3, model: 'm', step: 1 }, { text: 'b' }], gold: [1, 0], source: 's' }] })],
      ['/api/settings', researcher, () => ({ overlap: 1, guidelines: 'g' })],
    ];
    const seen = new Map<number, number>();
    for (let i = 0; i < 600; i++) {
      const [path, tok, make] = valid[i % valid.length];
      const body = mutate(make(), r);
      const raw = JSON.stringify(body) ?? 'null';
      const res = await send(tok, path === '/api/settings' ? 'PUT' : 'POST', path, raw);
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      expect(res.status, `case ${i}: ${path} ${raw.slice(0, 300)} -> ${JSON.stringify(res.error)}`).to.be.below(500);
      if (res.status >= 400) expect(res.error, `case ${i}`).to.be.a('string').and.not.empty;
    }
    expect([...seen.keys()].some((s) => s >= 400)).to.equal(true);
    const raws = [
      '['.repeat(30_000) + ']'.repeat(30_000),
      '{"taskId":' + '['.repeat(20_000) + ']'.repeat(20_000) + '}',
      `{"taskId": 1e400, "clientId": "a", "kind": "skip"}`,
      `{"taskId": 123456789012345678901234567890, "clientId": "a", "kind": "skip"}`,
      `{"taskId": ${taskId}, "clientId": "a", "kind": "ranking", "ranking": [0, 1, 1e400]}`,
      `{"taskId": ${taskId}, "clientId": "a", "kind": "ranking", "ranking": {"0": 0, "1": 1, "length": 2}}`,
      `{"__proto__": {"taskId": 1}, "clientId": "a", "kind": "skip"}`,
      `{"taskId": ${taskId}, "taskId": "dup", "clientId": "a", "kind": "skip"}`,
      '\ufeff{"taskId": 1}',
      '{"tasks": [{"prompt": "p", "completions": {"0": {"text": "a"}, "1": {"text": "b"}}}]}',
      '{"tasks": [{"prompt": "p", "completions": [{"text": "a", "tokens": 1e308}, {"text": "b", "step": -1}]}]}',
      '{"tasks": [{"prompt": "p", "completions": [{"text": "a"}, {"text": "b"}], "gold": [0, 99999999999]}]}',
      '{"tasks": [{"prompt": "p", "completions": [{"text": "a"}, {"text": "b"}], "gold": [0, 0]}]}',
      '{"tasks": [' + Array.from({ length: 1001 }, () => '{}').join(',') + ']}',
    ];
    for (const raw of raws) {
      for (const path of ['/api/labels', '/api/labels?next=true', '/api/tasks']) {
        const res = await send(path === '/api/tasks' ? researcher : ann, 'POST', path, raw);
        expect(res.status, `${path} ${raw.slice(0, 120)} -> ${JSON.stringify(res.error)}`).to.be.within(400, 499);
        expect(res.error).to.be.a('string').and.not.empty;
      }
    }
    for (const q of ['?next=true&next=false', '?next[]=true', '?next=%ED%A0%80', '?' + 'a=1&'.repeat(2000)]) {
      const res = await send(ann, 'POST', `/api/labels${q}`, JSON.stringify({ taskId, clientId: `q${q.length}`, kind: 'skip' }));
      expect(res.status, q.slice(0, 40)).to.be.below(500);
    }
    for (const q of ['?format=pairs&format=full', '?format=%00']) expect((await send(researcher, 'GET', `/api/export${q}`)).status, q).to.equal(400);
    expect((await send(ann, 'GET', '/api/me')).status).to.equal(200); // still serving
  });
});

function task(p: string) {
  return { prompt: p, completions: [{ text: 'a' }, { text: 'b' }] };
}
