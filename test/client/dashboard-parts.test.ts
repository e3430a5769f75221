// The dashboard's pure pieces, without a browser: the config diff, the run table's filter and sort, the
// samples search, tags as typed, and the system figures read from a run's series.
import { expect } from 'chai';
import { configDiff, flattenConfig } from '../../client/config-diff.js';
import { parseTags } from '../../client/dashboard-details.js';
import { filterSamples } from '../../client/dashboard-samples.js';
import { systemFigures, systemLine } from '../../client/run-legend.js';
import { filterRuns, runLabel, sortRuns } from '../../client/run-table.js';
import type { MetricSeries, RunView, SampleView } from '../../protocol/wire.js';

const run = (id: string, o: Partial<RunView> = {}): RunView => ({
  id, kind: 'ppo', state: 'done', origin: 'server', config: {}, error: null, created_at: '2026-01-01T00:00:00.000Z', started_at: null, ended_at: null, exit_code: null, last_step: null, ...o,
});

describe('client: dashboard parts', () => {
  it('diffs configs field by field: nested objects as dotted paths, lists whole, missing fields, out ignored', () => {
    expect([...flattenConfig({ lr: 0.1, lora: { rank: 8, targets: ['attn'] }, init: {}, x: null })]).to.deep.equal([
      ['lr', '0.1'], ['lora.rank', '8'], ['lora.targets', '["attn"]'], ['init', '{}'], ['x', 'null'],
    ]);
    const a = { lr: 0.001, steps: 100, lora: { rank: 8, alpha: 16 }, reward: ['sentiment'], out: '/runs/a' };
    const b = { lr: 0.0003, steps: 100, lora: { rank: 16, alpha: 16 }, reward: ['sentiment', 'length'], out: '/runs/b', seed: 3 };
    expect(configDiff([a, b])).to.deep.equal([
      { key: 'lora.rank', values: ['8', '16'] },
      { key: 'lr', values: ['0.001', '0.0003'] },
      { key: 'reward', values: ['["sentiment"]', '["sentiment","length"]'] },
      { key: 'seed', values: [undefined, '3'] },
    ]);
    expect(configDiff([a, a, { ...a, steps: 200 }])).to.deep.equal([{ key: 'steps', values: ['100', '100', '200'] }]);
    expect(configDiff([a])).to.deep.equal([]);
    expect(configDiff([a, { ...a }])).to.deep.equal([]);
  });

  it('filters runs by words and field:value, negated with -, and sorts stably by any column', () => {
    const runs = [
      run('ppo-1', { name: 'baseline', tags: ['sweep', 'lr'], created_at: '2026-01-01T00:00:01.000Z', last_step: 100 }),
      run('grpo-2', { kind: 'grpo', state: 'running', tags: ['sweep'], notes: 'wider batch', created_at: '2026-01-01T00:00:02.000Z', last_step: 40 }),
      run('dpo-3', { kind: 'dpo', state: 'failed', origin: 'cli', created_at: '2026-01-01T00:00:03.000Z' }),
    ];
    const ids = (rs: RunView[]) => rs.map((r) => r.id);
    expect(ids(filterRuns(runs, ''))).to.deep.equal(['ppo-1', 'grpo-2', 'dpo-3']);
    expect(ids(filterRuns(runs, 'tag:sweep'))).to.deep.equal(['ppo-1', 'grpo-2']);
    expect(ids(filterRuns(runs, 'tag:swe'))).to.deep.equal([]); // a tag matches whole
    expect(ids(filterRuns(runs, 'SWEEP -kind:grpo'))).to.deep.equal(['ppo-1']);
    expect(ids(filterRuns(runs, 'base'))).to.deep.equal(['ppo-1']); // the name
    expect(ids(filterRuns(runs, 'wider'))).to.deep.equal(['grpo-2']); // the notes
    expect(ids(filterRuns(runs, 'state:failed origin:cli'))).to.deep.equal(['dpo-3']);
    expect(ids(sortRuns(runs, { key: 'created', desc: true }))).to.deep.equal(['dpo-3', 'grpo-2', 'ppo-1']);
    expect(ids(sortRuns(runs, { key: 'step', desc: true }))).to.deep.equal(['ppo-1', 'grpo-2', 'dpo-3']);
    expect(ids(sortRuns(runs, { key: 'name', desc: false }))).to.deep.equal(['ppo-1', 'dpo-3', 'grpo-2']); // baseline, dpo-3, grpo-2
    expect(ids(sortRuns(runs, { key: 'kind', desc: false }))).to.deep.equal(['dpo-3', 'grpo-2', 'ppo-1']);
    const same = [run('b'), run('a'), run('c')];
    expect(ids(sortRuns(same, { key: 'state', desc: false }))).to.deep.equal(['a', 'b', 'c']); // ties: by id
    expect(runLabel(runs[0])).to.equal('baseline');
    expect(runLabel(runs[1])).to.equal('grpo-2');
    expect(parseTags(' sweep, lr ,, sweep,a b ')).to.deep.equal(['sweep', 'lr', 'a b']);
  });

  it('searches samples in prompts, completions and text columns, every word, any case; filters by step', () => {
    const rows: SampleView[] = [
      { step: 4, prompt: 'The sea was', completion: ' calm and grey', score: 1, gold: null },
      { step: 4, prompt: 'A whale', completion: ' breached', score: 0, gold: null, columns: { word: 'Harpoon', hits: 2 } },
      { step: 2, prompt: 'The sea was', completion: ' rough', score: 0, gold: null },
    ];
    expect(filterSamples(rows, 'sea', null).map((r) => r.completion)).to.deep.equal([' calm and grey', ' rough']);
    expect(filterSamples(rows, 'SEA rough', null).map((r) => r.step)).to.deep.equal([2]);
    expect(filterSamples(rows, 'harpoon', null)).to.have.length(1);
    expect(filterSamples(rows, '2', null)).to.have.length(0); // numbers in columns are not text
    expect(filterSamples(rows, '', 4)).to.have.length(2);
    expect(filterSamples(rows, 'sea', 4)).to.have.length(1);
  });

  it("reads a run's system figures: sys/* and the trainer's tokens/s, else tokens/s from its token count", () => {
    const s = (value: (number | null)[], time = value.map((_, i) => i * 2000)): MetricSeries => ({ step: value.map((_, i) => i + 1), time, value });
    expect(systemFigures({ 'sys/cpu_percent': s([80, 190.4]), 'sys/rss_mb': s([300, 512.3, null]), 'perf/rollout_tokens_per_sec': s([1000, 2100]) }))
      .to.deep.equal({ cpuPercent: 190.4, rssMb: 512.3, tokensPerSec: 2100 });
    // DPO logs num_tokens (a running count): 400 tokens every 2 s
    expect(systemFigures({ num_tokens: s([400, 800, 1200, 1600]) }).tokensPerSec).to.equal(200);
    expect(systemFigures({ 'train/tokens_per_sec': s([5]), num_tokens: s([1, 2]) }).tokensPerSec).to.equal(5);
    expect(systemFigures({})).to.deep.equal({ cpuPercent: null, rssMb: null, tokensPerSec: null });
    expect(systemLine({ cpuPercent: 190.4, rssMb: 512.3, tokensPerSec: 2100.2 })).to.equal('CPU 190% · RSS 512 MB · 2,100 tokens/s');
    expect(systemLine({ cpuPercent: null, rssMb: 64, tokensPerSec: null })).to.equal('RSS 64 MB');
    expect(systemLine({ cpuPercent: null, rssMb: null, tokensPerSec: null })).to.equal('no system figures');
  });
});
