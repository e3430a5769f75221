// The online human-feedback loop around a running PPO (rl/online/config.ts): the current policy's
// completions go into the labeling queue every few iterations; once enough new labels arrived, a reward-
// model refresh trains on all labels so far in a child process (`rlhf train-rm`, so PPO keeps stepping),
// and PPO switches to the refreshed model at its next step boundary. Its state survives a resume.
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { MetricsSink } from '../../data/metrics-sink.js';
import { MANAGED_ENV } from '../../data/sqlite-sink.js';
import { currentBackend } from '../../backend/backend.js';
import { writeFileAtomic } from '../../lm/checkpoint.js';
import { GPT } from '../../lm/model.js';
import { Tokenizer } from '../../lm/tokenizer.js';
import { OnlineFeedbackConfig } from './config.js';
import { TaskSender } from './task-sender.js';
import { subSeed } from '../prompts.js';
import { rewardModelSource, RewardSource } from '../reward-source.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');

interface OnlineState {
  /** Refreshes finished so far. */
  version: number;
  /** Preference labels in the store when the last refresh started. */
  labelsAtRefresh: number;
  /** The reward model in use (a refresh's final/), or null while the run's own reward is. */
  current: string | null;
  /** Validation accuracy of the reward model in use. */
  accuracy: number | null;
  tasksSent: number;
}

export class OnlineFeedback {
  private readonly tasks: TaskSender;
  private readonly stateFile: string;
  private state: OnlineState = { version: 0, labelsAtRefresh: 0, current: null, accuracy: null, tasksSent: 0 };
  private child: ChildProcess | null = null;
  private pending: string | null = null;
  private closed = false;

  constructor(
    private readonly cfg: OnlineFeedbackConfig,
    private readonly run: { id: string; out: string; model: string; reward: string; prompts: string; seed: number },
    private readonly sink: MetricsSink | undefined,
    resume: boolean,
  ) {
    this.tasks = new TaskSender(cfg, run);
    mkdirSync(run.out, { recursive: true });
    this.stateFile = join(run.out, 'online-state.json');
    if (resume && existsSync(this.stateFile)) {
      this.state = JSON.parse(readFileSync(this.stateFile, 'utf8')) as OnlineState;
      this.pending = this.state.current; // the resumed run switches back to the model it was using
    } else {
      this.state.labelsAtRefresh = this.labels();
    }
  }

  /** Preference labels (rankings; ties and skips carry none) in the store. */
  labels(): number {
    return this.tasks.store.db.prepare("SELECT count(*) FROM labels WHERE kind = 'ranking'").pluck().get() as number;
  }

  /** After a PPO iteration: maybe send tasks, maybe start a refresh, and log the loop's metrics. */
  async onStep(step: number, policy: GPT, tok: Tokenizer): Promise<void> {
    if (step % this.cfg.everySteps === 0) {
      const ids = await this.tasks.send(policy, tok, { batch: step / this.cfg.everySteps, step, seed: subSeed(this.run.seed, step, 7), model: this.run.model });
      this.state.tasksSent += ids.length;
      this.sink?.event(step, 'feedback-tasks', { added: ids.length, total: this.state.tasksSent });
      this.save();
    }
    const labels = this.labels();
    if (!this.child && labels - this.state.labelsAtRefresh >= this.cfg.refreshEveryLabels) this.startRefresh(step, labels);
    this.sink?.metrics(step, {
      'online/labels': labels, 'online/tasks_sent': this.state.tasksSent, 'online/rm_version': this.state.version,
      ...(this.state.accuracy !== null ? { 'online/rm_accuracy': this.state.accuracy } : {}),
    });
  }

  /** Asked by PPO before each iteration: the refreshed reward model, once one is ready. */
  async pollReward(): Promise<RewardSource | null> {
    if (!this.pending) return null;
    const dir = this.pending;
    this.pending = null;
    return rewardModelSource(dir);
  }

  private startRefresh(step: number, labels: number): void {
    const version = this.state.version + 1;
    const out = join(this.run.out, 'reward-models', `v${version}`);
    const previous = this.state.current ?? (existsSync(join(this.run.reward, 'config.json')) ? this.run.reward : null);
    const base = this.cfg.rmBase === 'previous' ? (previous ?? this.run.model) : this.cfg.rmBase;
    this.state.labelsAtRefresh = labels;
    this.save();
    const env = { ...process.env };
    delete env[MANAGED_ENV]; // the refresh is a run of its own in the store, not the PPO run's output
    const args = [BIN, 'train-rm', '--db', this.cfg.db, '--model', base, '--out', out, '--run-id', `${this.run.id}-rm-v${version}-${Date.now().toString(36)}`,
      '--epochs', String(this.cfg.rmEpochs), '--lr', String(this.cfg.rmLr), '--val-fraction', String(this.cfg.rmValFraction), '--json',
      '--backend', currentBackend()?.name ?? 'auto'];
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.sink?.event(step, 'reward-model-refresh', { version, labels, base });
    let result: { final: string; best: { accuracy: number } | null } | null = null;
    let err = '';
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const r = JSON.parse(line) as { type?: string; kind?: string; data?: typeof result };
        if (r.type === 'event' && r.kind === 'result') result = r.data!;
      } catch {}
    });
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.on('exit', (code) => {
      this.child = null;
      if (this.closed) return; // the run ended first: its sink and store are gone, and the refresh was cut short
      if (code === 0 && result?.final) {
        this.state = { ...this.state, version, current: result.final, accuracy: result.best?.accuracy ?? null };
        this.pending = result.final;
        this.save();
        this.sink?.event(step, 'reward-model-ready', { version, labels, accuracy: this.state.accuracy, path: result.final });
      } else {
        const why = err.trim().split('\n').filter((l) => l.startsWith('error:')).at(-1) ?? `exit code ${code}`;
        this.sink?.event(step, 'reward-model-failed', { version, error: why });
      }
    });
  }

  /** Wait for a refresh in flight (the end of a run, tests). */
  async settle(): Promise<void> {
    const c = this.child;
    if (c) await new Promise((resolve) => c.once('exit', resolve));
  }

  private save(): void {
    writeFileAtomic(this.stateFile, JSON.stringify(this.state, null, 2) + '\n');
  }

  close(): void {
    this.closed = true;
    this.child?.kill('SIGTERM');
    this.tasks.close();
  }
}
