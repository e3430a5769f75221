// The dashboard's launch panel: the run kind, a form built from its config schema (launch-form.ts), and
// the config's JSON, which the form and the server read. Starting is double-submit safe: the button is
// disabled while a launch is in flight, so a double click (or Enter held down) starts one run, not two.
import type { RunKindsView, RunView } from '../protocol/wire.js';
import { api, h } from './dom.js';
import { launchForm } from './launch-form.js';

export const TEMPLATES: Record<string, object> = {
  sft: { model: 'data/models/starter', data: ['corpus:moby-dick'], steps: 200, batchSize: 8, seqLen: 64, lr: 0.001, evalEvery: 20, saveEvery: 50, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] } },
  // labels come from the server's store (the run gets --db); give data files to train on exports instead
  'train-rm': { model: 'data/models/starter', epochs: 2, batchSize: 16, lr: 5e-5, evalEvery: 20 },
  ppo: {
    model: 'data/models/starter', prompts: 'data/prompts/demo.txt', reward: 'sentiment', steps: 100, batchSize: 16, miniBatchSize: 8,
    maxNewTokens: 24, lr: 1e-4, sampleEvery: 5, sampleRows: 4, saveEvery: 25, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] },
  },
  // reward is a list; a module in a folder an admin registered may be one (GET /api/reward-modules)
  grpo: {
    model: 'data/models/starter', prompts: 'data/prompts/demo.txt', reward: ['sentiment'], steps: 100, promptsPerStep: 4, numGenerations: 8,
    maxCompletionLength: 24, lr: 1e-4, sampleEvery: 5, sampleRows: 4, saveEvery: 25, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] },
  },
  rloo: {
    model: 'data/models/starter', prompts: 'data/prompts/demo.txt', reward: ['sentiment'], steps: 100, promptsPerStep: 4, numGenerations: 4,
    maxCompletionLength: 24, lr: 1e-4, sampleEvery: 5, sampleRows: 4, saveEvery: 25, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] },
  },
  // the labels of the server's store (db left out); add onlineFeedback ({"promptFile": ...}) for online iterative DPO
  dpo: { model: 'data/models/starter', epochs: 2, batchSize: 8, lr: 1e-4, beta: 0.1, evalEvery: 20, sampleRows: 8, saveEvery: 50, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] } },
};

/** The panel; `note` shows what happened, `started` gets the new run. */
export function launchPanel(kinds: RunKindsView['kinds'] | null, note: HTMLElement, started: (run: RunView) => void | Promise<void>): HTMLElement {
  const kind = h('select', { id: 'launch-kind', 'aria-label': 'run kind' }, ...Object.keys(TEMPLATES).map((k) => h('option', { value: k }, k))) as HTMLSelectElement;
  const config = h('textarea', { id: 'launch-config', rows: '6', spellcheck: 'false', 'aria-label': 'run config (JSON)' }) as HTMLTextAreaElement;
  // folded until asked for: open, a PPO config's ~45 fields would push the charts off the first screen
  const formBox = h('details', { class: 'launch-fields', id: 'launch-fields' }, h('summary', {}, 'edit the config field by field'));
  let form: ReturnType<typeof launchForm> | null = null;
  const pick = () => {
    config.value = JSON.stringify(TEMPLATES[kind.value], null, 2);
    const schema = kinds?.[kind.value as keyof RunKindsView['kinds']];
    form = schema ? launchForm(schema, config) : null;
    formBox.replaceChildren(formBox.firstChild!, ...(form ? [form.form] : [h('p', { class: 'status' }, 'no schema for this kind: edit the JSON')]));
  };
  kind.addEventListener('change', pick);
  config.addEventListener('input', () => form?.sync());
  pick();
  const button = h('button', { id: 'launch', type: 'button' }, 'Start run') as HTMLButtonElement;
  let inFlight = false;
  const start = async () => {
    if (inFlight) return; // a second click while the first is out starts nothing
    let parsed: unknown;
    try {
      parsed = JSON.parse(config.value);
    } catch (e) {
      note.textContent = `error: the config is not JSON: ${(e as Error).message}`;
      return;
    }
    inFlight = true;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    note.textContent = 'starting…';
    let run: RunView | null = null;
    try {
      const r = await api<RunView & { error?: string }>('POST', '/api/runs', { kind: kind.value, config: parsed });
      if (r.status === 201) run = r.data;
      else note.textContent = `error: ${r.data?.error ?? `the server answered ${r.status}`}`;
    } catch (e) {
      note.textContent = `error: no answer from the server (${(e as Error).message}); the run table shows whether it started`;
    } finally {
      inFlight = false;
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
    if (!run) return;
    note.textContent = `started ${run.id}`;
    await started(run);
  };
  button.addEventListener('click', () => void start());
  return h('details', { class: 'launch', open: true }, h('summary', {}, 'Launch a run'),
    h('p', {}, 'kind ', kind, ' · config (the fields of rlhf <kind> --config FILE): the form and the JSON below are the same config'), formBox, config,
    h('p', {}, button), note);
}
