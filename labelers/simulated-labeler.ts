// A simulated labeler: a client of the labeling API that fetches tasks and submits labels over HTTP,
// exactly as the labeling page does (submit-and-next), so the whole loop can run without people. What it
// answers is reward-models/simulated-label.ts (a rule, ties, seeded noise); this file is only the talking:
// retries, polling an empty queue, stopping on a signal.
import type { LabelAck, LabelRequest, TaskView } from '../protocol/wire.js';
import type { Rule } from '../reward-models/rules.js';
import { simulatedLabel } from '../reward-models/simulated-label.js';

export interface SimulateOptions {
  /** Server base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  /** A labeler token. */
  token: string;
  rule: Rule;
  /** Fraction of choices flipped, in [0, 1]. */
  noise: number;
  /** Stop after this many labels (Infinity: until the queue is empty). */
  count: number;
  seed: number;
  /** Called after every acknowledged label. */
  onLabel?: (n: number, label: LabelRequest, task: TaskView) => void;
  /** When the queue is empty, poll again every waitMs (the online loop keeps adding tasks) instead of stopping. */
  waitMs?: number;
  /** Stops a waiting labeler (after its current label). */
  signal?: AbortSignal;
}

export interface SimulateResult {
  labels: number;
  ties: number;
  flipped: number;
}

/** One API call. Network failures (a reset keep-alive socket, a server restart) are retried a few times,
 * as the labeling page does; resubmitting a label is safe because its clientId makes it idempotent. */
async function call<T>(url: string, token: string, init: RequestInit = {}): Promise<{ status: number; body: T | null }> {
  let res: Response;
  for (let attempt = 1; ; attempt++) {
    try {
      res = await fetch(url, { ...init, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...init.headers } });
      break;
    } catch (e) {
      if (attempt >= 5) throw new Error(`${init.method ?? 'GET'} ${url}: ${(e as Error).message} (${attempt} attempts)`);
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
  const text = await res.text();
  if (res.status >= 400) {
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {}
    throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${msg}`);
  }
  return { status: res.status, body: text ? (JSON.parse(text) as T) : null };
}

export async function simulateLabeler(o: SimulateOptions): Promise<SimulateResult> {
  if (!(o.noise >= 0 && o.noise <= 1)) throw new Error(`noise must be in [0, 1], got ${o.noise}`);
  const base = o.url.replace(/\/+$/, '');
  const r: SimulateResult = { labels: 0, ties: 0, flipped: 0 };
  const who = Math.random().toString(36).slice(2, 10); // keeps clientIds of labelers sharing a seed apart
  const next = async (): Promise<TaskView | null> => {
    for (;;) {
      const t = (await call<TaskView>(`${base}/api/tasks/next`, o.token)).body;
      if (t || !o.waitMs || o.signal?.aborted) return t;
      await new Promise((resolve) => setTimeout(resolve, o.waitMs));
      if (o.signal?.aborted) return null;
    }
  };
  let task = await next();
  while (task && r.labels < o.count && !o.signal?.aborted) {
    const label = await simulatedLabel(o.rule, task, o.noise, o.seed);
    if (label.kind === 'tie') r.ties++;
    if (label.flipped) r.flipped++;
    const body: LabelRequest = { taskId: task.id, clientId: `sim-${who}-${task.id}`, kind: label.kind, ranking: label.ranking, ms: 0 };
    const more = r.labels + 1 < o.count;
    const ack = (await call<LabelAck>(`${base}/api/labels${more ? '?next=true' : ''}`, o.token, { method: 'POST', body: JSON.stringify(body) })).body!;
    r.labels++;
    o.onLabel?.(r.labels, body, task);
    task = !more ? null : (ack.next ?? (await next()));
  }
  return r;
}
