// GET /api/run-kinds (each launchable kind's config schema, for the dashboard's launch form), the run
// configs in the OpenAPI document, the route-body checks over TypeBox, and the server still never loading
// tfjs now that it imports the trainers' config schemas.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { Store } from '../../data/store.js';
import { DpoConfigSchema } from '../../dpo/config.js';
import { RmConfigSchema } from '../../reward-models/rm-config.js';
import { GrpoConfigSchema } from '../../rl/grpo/config.js';
import { PpoConfigSchema } from '../../rl/ppo-config.js';
import { RlooConfigSchema } from '../../rl/rloo/config.js';
import { RunningServer, startServer } from '../../server/app.js';
import { LABEL_BODY, ROUTES } from '../../server/routes.js';
import { validate } from '../../server/schema.js';
import { SftConfigSchema } from '../../sft/sft-config.js';
import { tempDir } from '../helpers.js';
import { apiClient } from './api-client.js';

const ROOT = join(import.meta.dirname, '..', '..');
const plain = (s: object) => JSON.parse(JSON.stringify(s));

describe('server: run kinds and their schemas', () => {
  let store: Store;
  let srv: RunningServer;
  const call = apiClient(() => srv.url);
  before(async () => {
    store = new Store(join(tempDir(), 'rlhf.db'));
    srv = await startServer({ store, port: 0 });
  });
  after(async () => {
    await srv.close();
    store.close();
  });

  it("GET /api/run-kinds: each kind POST /api/runs takes, its config's JSON Schema without out; researchers only", async () => {
    const rita = store.addUser('rita', 'researcher');
    const ann = store.addUser('ann', 'labeler');
    const r = await call(rita, 'GET', '/api/run-kinds');
    expect(r.status).to.equal(200);
    expect(Object.keys(r.data.kinds)).to.deep.equal(['sft', 'train-rm', 'ppo', 'grpo', 'rloo', 'dpo']);
    const ppo = r.data.kinds.ppo;
    const { out: _out, ...rest } = plain(PpoConfigSchema).properties;
    expect(ppo.properties).to.deep.equal(rest);
    expect(ppo.required).to.have.members(['model', 'prompts', 'reward']);
    expect(ppo.additionalProperties).to.equal(false);
    expect(ppo.properties.steps).to.include({ type: 'integer', minimum: 1, default: 200 }).and.have.property('description').that.is.a('string');
    expect(r.data.kinds.sft.properties).to.not.have.property('out');
    expect(r.data.kinds['train-rm'].properties.ties).to.deep.include({ enum: ['drop', 'equal', 'davidson', 'rao-kupper'], default: 'drop' });
    for (const [kind, schema] of [['grpo', GrpoConfigSchema], ['rloo', RlooConfigSchema]] as const) {
      const { out: _o, ...props } = plain(schema).properties;
      expect(r.data.kinds[kind].properties, kind).to.deep.equal(props);
      expect(r.data.kinds[kind].required, kind).to.have.members(['model', 'prompts', 'reward']);
    }
    expect(r.data.kinds.grpo.properties.reward).to.include({ type: 'array' }); // a list of rewards
    expect(r.data.kinds.grpo.properties.lossType).to.deep.include({ enum: ['grpo', 'dr_grpo', 'dapo', 'bnpo'], default: 'dapo' });
    expect(r.data.kinds.rloo.properties.numGenerations).to.include({ default: 2 });
    const { out: _d, ...dpo } = plain(DpoConfigSchema).properties;
    expect(r.data.kinds.dpo.properties).to.deep.equal(dpo);
    expect(r.data.kinds.dpo.required).to.deep.equal(['model']);
    expect(r.data.kinds.dpo.properties.onlineFeedback.anyOf[0].properties.reference).to.deep.include({ enum: ['initial', 'previous'], default: 'initial' });
    expect((await call(ann, 'GET', '/api/run-kinds')).status).to.equal(403);
  });

  it('the OpenAPI document (3.1) lists the run configs under components.schemas, and the new route', async () => {
    const doc = (await call('', 'GET', '/api/openapi.json')).data;
    expect(doc.openapi).to.equal('3.1.0');
    expect(doc.components.schemas.SftConfig).to.deep.equal(plain(SftConfigSchema));
    expect(doc.components.schemas.RmConfig).to.deep.equal(plain(RmConfigSchema));
    expect(doc.components.schemas.PpoConfig).to.deep.equal(plain(PpoConfigSchema));
    expect(doc.components.schemas.GrpoConfig).to.deep.equal(plain(GrpoConfigSchema));
    expect(doc.components.schemas.RlooConfig).to.deep.equal(plain(RlooConfigSchema));
    expect(doc.components.schemas.DpoConfig).to.deep.equal(plain(DpoConfigSchema));
    expect(doc.components.schemas).to.have.keys('SftConfig', 'RmConfig', 'PpoConfig', 'GrpoConfig', 'RlooConfig', 'DpoConfig', 'LoraConfig', 'OnlineFeedbackConfig', 'DpoOnlineFeedbackConfig');
    expect(doc.paths['/api/runs'].post.requestBody.content['application/json'].schema.properties.kind.enum).to.deep.equal(['sft', 'train-rm', 'ppo', 'grpo', 'rloo', 'dpo']);
    expect(doc.paths['/api/run-kinds'].get['x-min-role']).to.equal('researcher');
    expect(doc.paths['/api/labels'].post.requestBody.content['application/json'].schema.properties.kind).to.deep.equal({ type: 'string', enum: ['ranking', 'tie', 'skip'] });
  });

  it('route bodies: TypeBox errors in our format, then lone surrogates and depth, without recursion', () => {
    expect(validate(LABEL_BODY, { taskId: 1, clientId: 'c', kind: 'tie' })).to.equal(null);
    expect(validate(LABEL_BODY, { taskId: 1, clientId: 'c', kind: 'tie', ranking: [0, 'x'] })).to.equal('body.ranking[1]: expected an integer');
    expect(validate(LABEL_BODY, { taskId: 1, clientId: 'c', kind: 'tie', rationale: 'a\ud800b' })).to.equal('body.rationale: contains a lone UTF-16 surrogate (not valid Unicode)');
    expect(validate(LABEL_BODY, { taskId: 1, clientId: 'c', kind: 'tie', x: 1 })).to.equal('body.x: unknown field');
    expect(validate(LABEL_BODY, { taskId: 1, clientId: '', kind: 'tie' })).to.equal('body.clientId: shorter than 1 characters');
    expect(validate(LABEL_BODY, { taskId: 1, clientId: 'c', kind: 7 })).to.equal('body.kind: expected a string');
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const launch = ROUTES.find((r) => r.method === 'post' && r.path === '/api/runs')!.body!;
    expect(validate(launch, { kind: 'ppo', config: deep })).to.match(/^body\.config(\.a){32}: nested deeper than 32 levels$/);
    expect(validate(launch, { kind: 'ppo', config: { ['k\udc00']: 1 } })).to.equal('body.config: a field name: contains a lone UTF-16 surrogate (not valid Unicode)');
  });

  it('the server and everything it imports never load tfjs (it runs trainers as child processes)', () => {
    const spec = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;
    const seen = new Set<string>();
    const todo = ['server/app.ts'];
    const packages = new Set<string>();
    for (let f = todo.pop(); f; f = todo.pop()) {
      if (seen.has(f)) continue;
      seen.add(f);
      const text = readFileSync(join(ROOT, f), 'utf8');
      for (const m of text.matchAll(spec)) {
        if (/^[\s;]*(import|export)\s+type\s/.test(m[0])) continue; // erased when compiled: loads nothing (rl/grpo/config.ts's types of its losses)
        const s = m[1] ?? m[2] ?? m[3];
        if (s.startsWith('.')) todo.push(normalize(join(dirname(f), s)).replace(/\.js$/, '.ts'));
        else if (!s.startsWith('node:')) packages.add(`${s} (from ${f})`);
      }
    }
    expect(seen).to.include('sft/sft-config.ts').and.include('rl/ppo-config.ts').and.include('rl/grpo/config.ts').and.include('rl/rloo/config.ts').and.include('train/config-schema.ts');
    expect([...packages].filter((p) => p.startsWith('@tensorflow/'))).to.deep.equal([]);
  });
});
