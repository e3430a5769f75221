// The server's side of reward-model scoring: a worker thread (score-worker.ts) holds the model; requests
// are queued to it and answered by id. A bounded queue turns overload into a clear 503, not a growing heap.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface ScoreResult {
  scores: number[];
  raw: number[];
}

export class ScoreUnavailable extends Error {}

export class ScoreProxy {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: ScoreResult) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: string | null = null;
  /** Resolves when the model is loaded; rejects with the worker's error. */
  readonly ready: Promise<void>;

  constructor(readonly model: string, backend = 'auto', private readonly maxPending = 64) {
    this.worker = new Worker(join(import.meta.dirname, 'score-worker.mjs'), { workerData: { model, backend } });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (m: { ready?: boolean; fatal?: string; id?: number; error?: string } & Partial<ScoreResult>) => {
        if (m.ready) return resolve();
        if (m.fatal) return this.fail(`reward model ${model}: ${m.fatal}`, reject);
        const p = this.pending.get(m.id!);
        if (!p) return;
        this.pending.delete(m.id!);
        if (m.error) p.reject(new Error(m.error));
        else p.resolve({ scores: m.scores!, raw: m.raw! });
      });
      this.worker.on('error', (e) => this.fail(`scoring worker failed: ${e.message}`, reject));
      this.worker.on('exit', (code) => this.fail(`scoring worker exited (code ${code})`, reject));
    });
    this.ready.catch(() => {}); // observed through score()
  }

  private fail(msg: string, reject: (e: Error) => void): void {
    this.failure ??= msg;
    reject(new ScoreUnavailable(this.failure));
    for (const p of this.pending.values()) p.reject(new ScoreUnavailable(this.failure));
    this.pending.clear();
  }

  async score(prompts: string[], completions: string[]): Promise<ScoreResult> {
    if (this.failure) throw new ScoreUnavailable(this.failure);
    if (this.pending.size >= this.maxPending) throw new ScoreUnavailable(`the scoring queue is full (${this.maxPending} requests); retry later`);
    await this.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, prompts, completions });
    });
  }

  async close(): Promise<void> {
    this.failure ??= 'the server is shutting down';
    await this.worker.terminate();
  }
}
