// The one schema library of the run configs (train/config-schema.ts): defaults, messages that name the
// source and the field and say what was expected and what was given, the CLI flags built from a schema
// (cli/config-flags.ts), and the same schema's JSON Schema.
import { expect } from 'chai';
import { Command } from 'commander';
import { Type } from '@sinclair/typebox';
import { configFlags } from '../../cli/config-flags.js';
import { validateLora } from '../../lm/lora-config.js';
import { RmConfigSchema } from '../../reward-models/rm-config.js';
import { resolveOnlineFeedback } from '../../rl/online/config.js';
import { PpoConfigSchema, resolvePpoConfig } from '../../rl/ppo-config.js';
import { resolveSftConfig, SftConfigSchema } from '../../sft/sft-config.js';
import { expected, Nullable, resolveConfig, StringEnum } from '../../train/config-schema.js';

const T = Type.Object({
  steps: Type.Integer({ minimum: 1, default: 10, description: 'steps' }),
  lr: Type.Number({ minimum: 0, maximum: 10, default: 0.1 }),
  mode: StringEnum(['a', 'b'], { default: 'a' }),
  path: Type.String({ minLength: 1, description: 'where it goes' }),
  target: Nullable(Type.Number({ exclusiveMinimum: 0 }), { default: null }),
  tags: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  inner: Nullable(Type.Object({ k: Type.Integer({ minimum: 2, maximum: 16, default: 2 }), db: Type.String({ minLength: 1 }) }, { additionalProperties: false }), { default: null }),
}, { additionalProperties: false });

const message = (raw: unknown) => {
  try {
    resolveConfig(T, raw, 'x.json');
  } catch (e) {
    return (e as Error).message;
  }
  return null;
};

describe('train/config-schema', () => {
  it('fills defaults in schema order (nested ones too) and returns copies of them', () => {
    const a = resolveConfig(T, { path: 'p', inner: { db: 'd' } }, 'x');
    expect(Object.keys(a)).to.deep.equal(['steps', 'lr', 'mode', 'path', 'target', 'tags', 'inner']);
    expect(a).to.deep.equal({ steps: 10, lr: 0.1, mode: 'a', path: 'p', target: null, tags: [], inner: { k: 2, db: 'd' } });
    a.tags.push('x');
    expect(resolveConfig(T, { path: 'p' }, 'x').tags).to.deep.equal([]);
  });

  it('says where, what was expected and what was given', () => {
    expect(message({ path: 'p', steps: 0 })).to.equal('x.json: steps must be an integer >= 1, got 0');
    expect(message({ path: 'p', steps: 1.5 })).to.equal('x.json: steps must be an integer >= 1, got 1.5');
    expect(message({ path: 'p', lr: 11 })).to.equal('x.json: lr must be a number in [0, 10], got 11');
    expect(message({ path: 'p', mode: 'c' })).to.equal('x.json: mode must be one of a, b, got "c"');
    expect(message({ path: 'p', target: 0 })).to.equal('x.json: target must be a number > 0 or null, got 0');
    expect(message({ path: 'p', tags: ['ok', ''] })).to.equal('x.json: tags must be a list of non-empty strings, got ["ok",""]');
    expect(message({ path: 'p', inner: 3 })).to.equal('x.json: inner must be an object or null, got 3');
    expect(message({ path: 'p', inner: { db: 'd', k: 17 } })).to.equal('x.json: inner.k must be an integer in [2, 16], got 17');
    expect(message({ path: 'p', inner: {} })).to.equal("x.json: inner.db is required");
    expect(message({})).to.equal('x.json: path is required (where it goes)');
    expect(message([])).to.match(/^x\.json: must be a JSON object/);
  });

  it('refuses unknown fields first, prototype names included, at any depth', () => {
    expect(message({ stpes: 3 })).to.equal("x.json: unknown field 'stpes'"); // before "path is required"
    expect(message({ path: 'p', inner: { db: 'd', j: 1 } })).to.equal("x.json: unknown field 'inner.j'");
    for (const k of ['toString', 'constructor', 'hasOwnProperty']) expect(message({ path: 'p', [k]: 1 })).to.equal(`x.json: unknown field '${k}'`);
    expect(message(JSON.parse('{"path":"p","__proto__":{"steps":0}}'))).to.equal("x.json: unknown field '__proto__'");
  });

  it('describes bounds in words', () => {
    expect(expected(Type.Integer({ minimum: 0 }))).to.equal('an integer >= 0');
    expect(expected(Type.Number({ exclusiveMinimum: 0, maximum: 1 }))).to.equal('a number in (0, 1]');
    expect(expected(Type.Boolean())).to.equal('true or false');
    expect(expected(Type.Array(StringEnum(['attn', 'mlp']), { minItems: 1 }))).to.equal('a non-empty list of attn, mlp');
  });

  it('the run configs: their cross-field rules after the schema, LoRA targets once each', () => {
    expect(() => resolveSftConfig({ data: ['x'], out: 'o', model: 'm', init: { tokenizer: 't', nEmbd: 8, nLayer: 1, nHead: 1, nPositions: 8 } })).to.throw(/exactly one of model .* or init/);
    expect(() => resolveSftConfig({ data: ['x'], out: 'o', init: { tokenizer: 't', nEmbd: 0, nLayer: 1, nHead: 1, nPositions: 8 } })).to.throw(/config: init\.nEmbd must be an integer >= 1, got 0/);
    expect(resolvePpoConfig({ model: 'm', prompts: 'p', reward: 'length', out: 'o', lora: { rank: 2, alpha: 4, targets: ['attn', 'attn'] } }).lora!.targets).to.deep.equal(['attn']);
    expect(() => resolvePpoConfig({ model: 'm', prompts: 'p', reward: 'length', out: 'o', onlineFeedback: { db: 'd', k: 1 } }, 'f')).to.throw("f: onlineFeedback.k must be an integer in [2, 16], got 1");
    expect(resolvePpoConfig({ model: 'm', prompts: 'p', reward: 'length', out: 'o', onlineFeedback: { db: 'd' } }).onlineFeedback).to.include({ rmBase: 'previous', everySteps: 5, k: 2 });
    expect(() => resolveOnlineFeedback({ db: 'd', bogus: 1 }, 't')).to.throw("t: unknown field 'onlineFeedback.bogus'");
    expect(() => validateLora({ rank: 1, alpha: 0, targets: ['attn'] })).to.throw(/^lora\.alpha: /);
  });

  it('is plain JSON Schema once serialised: defaults, descriptions, enums, nullables, no extra fields', () => {
    const s = JSON.parse(JSON.stringify(PpoConfigSchema));
    expect(s.additionalProperties).to.equal(false);
    expect(s.required).to.have.members(['model', 'prompts', 'reward', 'out']);
    expect(s.properties.klEstimator).to.deep.include({ type: 'string', enum: ['k1', 'k3'], default: 'k1' });
    expect(s.properties.klTarget.anyOf).to.deep.equal([{ type: 'number', exclusiveMinimum: 0 }, { type: 'null' }]);
    expect(s.properties.steps).to.include({ type: 'integer', minimum: 1, default: 200 });
    for (const schema of [SftConfigSchema, RmConfigSchema, PpoConfigSchema]) {
      for (const [k, p] of Object.entries(schema.properties)) expect((p as { description?: string }).description, k).to.be.a('string').and.not.equal('');
    }
  });
});

describe('cli/config-flags', () => {
  const parse = (...args: string[]) => {
    const cmd = new Command('t').exitOverride().configureOutput({ writeErr: () => {} });
    const fields = configFlags(cmd, T, { skip: ['path'] });
    const online = configFlags(cmd, Type.Object({ everySteps: Type.Integer({ minimum: 1, default: 5 }) }), { prefix: 'online' });
    cmd.parse(args, { from: 'user' });
    return { fields: fields(cmd.opts()), online: online(cmd.opts()), help: cmd.helpInformation() };
  };

  it('a --kebab-case flag per scalar or list field, parsed by its type, only those given', () => {
    expect(parse('--steps', '3', '--lr', '0.5', '--mode', 'b', '--tags', 'x', '--tags', 'y', '--online-every-steps', '2')).to.deep.include({
      fields: { steps: 3, lr: 0.5, mode: 'b', tags: ['x', 'y'] }, online: { everySteps: 2 },
    });
    expect(parse().fields).to.deep.equal({});
    expect(parse('--target', 'none').fields).to.deep.equal({ target: null });
    expect(parse('--target', '0.25').fields).to.deep.equal({ target: 0.25 });
  });

  it('refuses a bad value with what the field expects; help shows description and default', () => {
    expect(() => parse('--steps', '0')).to.throw(/expected an integer >= 1, got '0'/);
    expect(() => parse('--lr', 'abc')).to.throw(/expected a number in \[0, 10\], got 'abc'/);
    expect(() => parse('--mode', 'c')).to.throw(/Allowed choices are a, b/);
    const { help } = parse();
    expect(help).to.include('--steps <n>').and.include('(default 10)').and.include('--online-every-steps <n>').and.not.include('--path').and.not.include('--inner');
  });

  it('the three commands keep their flags', async () => {
    const { ppoCommand } = await import('../../cli/ppo.js');
    const { sftCommand } = await import('../../cli/sft.js');
    const { trainRmCommand } = await import('../../cli/train-rm.js');
    const flags = (c: Command) => c.options.map((o) => o.long);
    expect(flags(ppoCommand())).to.include.members(['--model', '--prompts', '--reward', '--gold-reward', '--out', '--kl-estimator', '--kl-target', '--whiten-rewards', '--no-whiten-rewards', '--stop',
      '--value-model', '--lora-rank', '--lora-alpha', '--lora-targets', '--online-feedback', '--online-db', '--online-k', '--online-rm-base', '--resume', '--json', '--db', '--run-id']);
    expect(flags(sftCommand())).to.include.members(['--model', '--init-tokenizer', '--data', '--out', '--steps', '--batch-size', '--grad-accum', '--seq-len', '--lr', '--warmup-steps', '--min-lr-ratio',
      '--weight-decay', '--max-grad-norm', '--held-out', '--eval-every', '--eval-batches', '--save-every', '--keep-checkpoints', '--seed', '--lora-rank', '--n-embd', '--resume', '--db', '--run-id']);
    expect(flags(trainRmCommand())).to.include.members(['--model', '--db', '--data', '--out', '--epochs', '--batch-size', '--lr', '--head-lr-scale', '--warmup-steps', '--min-lr-ratio', '--weight-decay',
      '--max-grad-norm', '--ties', '--margin', '--val-fraction', '--eval-every', '--patience', '--save-every', '--seed', '--reference', '--lora-rank', '--resume', '--json', '--run-id']);
    for (const c of [ppoCommand(), sftCommand(), trainRmCommand()]) expect(new Set(flags(c)).size, c.name()).to.equal(flags(c).length);
  });
});
