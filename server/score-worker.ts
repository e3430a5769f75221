// The scoring worker: a thread of the server process that owns TensorFlow.js and one reward model, so
// inference never runs on the server's event loop. Messages: {id, prompts, completions} in,
// {id, scores, raw} or {id, error} out. It loads the model once and says {ready} or {fatal}.
import { parentPort, workerData } from 'node:worker_threads';
import { BackendName, initBackend } from '../backend/backend.js';
import { RewardModel } from '../reward-models/reward-model.js';

interface Job {
  id: number;
  prompts: string[];
  completions: string[];
}

const port = parentPort!;
const { model, backend } = workerData as { model: string; backend: BackendName };
let rm: RewardModel;
try {
  await initBackend(backend, { quiet: true });
  rm = RewardModel.load(model);
  port.postMessage({ ready: true, model });
} catch (e) {
  port.postMessage({ fatal: (e as Error).message });
  process.exit(1);
}

// One job at a time, in arrival order: the model's tensors are not shared between concurrent calls.
let chain = Promise.resolve();
port.on('message', (job: Job) => {
  chain = chain.then(async () => {
    try {
      const raw = await rm.scoreRaw(job.prompts, job.completions);
      port.postMessage({ id: job.id, raw, scores: raw.map((r) => (r - rm.norm.mean) / rm.norm.std) });
    } catch (e) {
      port.postMessage({ id: job.id, error: (e as Error).message });
    }
  });
});
