// The HTTP and WebSocket message types: what the server, the pages, the store and the labelers exchange.
// Every side imports this one module, and it imports nothing.

export type Role = 'labeler' | 'researcher' | 'admin';

/** Who speaks in a turn of a task's conversation. */
export type TurnRole = 'system' | 'user' | 'assistant';

/** One turn of the conversation a task's prompt was rendered from. */
export interface Turn {
  role: TurnRole;
  content: string;
}

export interface TaskView {
  id: number;
  /** The text the model was conditioned on (for a conversation: rendered with its chat template). */
  prompt: string;
  /** The conversation the prompt came from, when it came from one: shown as turns, the completions as the assistant's next reply. */
  messages?: Turn[];
  /** In display order; a label's ranking lists these positions, best first. */
  completions: { position: number; text: string }[];
}

export interface LabelRequest {
  taskId: number;
  /** Chosen by the client once per label; resubmitting the same id is harmless. */
  clientId: string;
  kind: 'ranking' | 'tie' | 'skip';
  ranking?: number[];
  rationale?: string;
  ms?: number;
  /**
   * An edit of one's own recent label: the clientId of the version it replaces (the label's current one).
   * The label keeps its id and gets the next version; the replaced version stays in the audit log.
   */
  replaces?: string;
}

export interface LabelAck {
  id: number;
  created: boolean;
  /** With POST /api/labels?next=true: the caller's next task, assigned in the same commit (null: none left). */
  next?: TaskView | null;
  /** With ?hold=n: every task the caller holds, topped up to n, oldest first (what a page labels offline). */
  held?: TaskView[];
  /** For an edit (replaces): the label's version now (the first one is 1). */
  version?: number;
}

/** GET /api/tasks/held?n=: the tasks assigned to the caller and not yet labelled, topped up to n, oldest first. */
export interface HeldTasks {
  tasks: TaskView[];
}

/** GET /api/me/queue: how many tasks the caller can still be given, the ones held included. */
export interface QueueView {
  left: number;
  /** Counting stopped at `left`: there are at least that many. */
  capped: boolean;
}

/** GET /api/me/labels: one of the caller's recent labels, still editable, with its task as shown. */
export interface MyLabel {
  id: number;
  taskId: number;
  /** The current version's clientId: what an edit names in `replaces`. */
  clientId: string;
  kind: LabelRequest['kind'];
  ranking: number[] | null;
  rationale: string | null;
  version: number;
  /** When the first version was stored; a label is editable for EDIT_WINDOW_HOURS after it. */
  createdAt: string;
  task: TaskView;
}

/** How long after its first version a labeler may still edit a label. */
export const EDIT_WINDOW_HOURS = 24;

export interface Me {
  name: string;
  role: Role;
  labeled: number;
}

/** Server -> client over the WebSocket at /ws. */
export type ServerEvent =
  | { type: 'hello'; name: string; role: Role }
  | { type: 'tasks'; added: number }
  | { type: 'labels'; total: number }
  | { type: 'settings'; overlap: number }
  | RunServerEvent;

// Runs (server/run-manager.ts) and their dashboard. Metric times are Unix milliseconds.
export type RunKind = 'sft' | 'train-rm' | 'ppo' | 'grpo' | 'rloo' | 'dpo';
export type RunState = 'queued' | 'running' | 'stopped' | 'failed' | 'done';

export interface RunView {
  id: string;
  kind: string;
  state: RunState;
  /** 'server': launched by the run manager; 'cli': started by hand with --db (shown, not controlled). */
  origin: 'server' | 'cli';
  /** The resolved config once the run reported it, else the config it was launched with. */
  config: Record<string, unknown>;
  error: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  exit_code: number | null;
  /** Highest step with a metric, or null before the first. */
  last_step: number | null;
  /** Who launched it through the API (null for CLI runs); they and admins may stop, resume and read its log. */
  owner?: string | null;
  /** What researchers wrote about it on the dashboard (PUT /api/runs/:id/meta): a display name, tags, notes. */
  name?: string | null;
  tags?: string[];
  notes?: string | null;
}

/** PUT /api/runs/:id/meta: the fields given replace the run's; an empty name or notes clears it. */
export interface RunMetaRequest {
  name?: string;
  tags?: string[];
  notes?: string;
}

/** GET /api/runs/:id: the run, its events, and its latest checkpoint's folder name (null: none, so a resume starts again from step 0). */
export interface RunDetailView {
  run: RunView;
  events: { step: number; kind: string; data: Record<string, unknown>; time: number }[];
  checkpoint: string | null;
}

/** A metric's points in step order; a non-finite value is null. */
export interface MetricSeries { step: number[]; time: number[]; value: (number | null)[] }

export interface SampleView {
  step: number;
  prompt: string;
  completion: string;
  score: number | null;
  gold: number | null;
  /**
   * More cells. GRPO, RLOO: each reward function's value by its name, and the columns reward functions logged.
   * DPO (a validation pair: prompt, chosen as completion, its implicit reward as score): rejected,
   * rejected_reward, margin, correct.
   */
  columns?: Record<string, string | number | boolean | null>;
}

/** Run events go only to researchers and admins. */
export type RunServerEvent =
  | { type: 'run'; run: RunView }
  | { type: 'metrics'; run_id: string; step: number; time: number; metrics: Record<string, number | null> }
  | { type: 'samples'; run_id: string; step: number; rows: SampleView[] }
  | { type: 'run-event'; run_id: string; step: number; kind: string; data: Record<string, unknown> };

/** The subprotocol prefix that carries the bearer token on the WebSocket upgrade (browsers cannot set headers). */
export const WS_TOKEN_PREFIX = 'bearer.';

/** Close code of a socket whose token stopped working (disabled, revoked or replaced): the page signs out, it does not reconnect. */
export const WS_REVOKED = 4401;

/** GET /api/stats: the project's counts, per-labeler speed and gold accuracy, and agreement (server/stats.ts). */
export interface LabelerStats {
  name: string;
  labels: number;
  skips: number;
  medianSeconds: number | null;
  gold: { answered: number; correct: number; accuracy: number | null };
}

export interface Stats {
  tasks: number;
  labels: number;
  byKind: Record<string, number>;
  labelers: LabelerStats[];
  agreement: { tasks: number; pairs: number; percent: number | null; krippendorffAlpha: number | null };
}

/**
 * A JSON Schema node, as GET /api/run-kinds serves a run config's (the TypeBox schemas of
 * sft/sft-config.ts, reward-models/rm-config.ts, rl/ppo-config.ts, rl/grpo/config.ts, rl/rloo/config.ts, dpo/config.ts): what
 * the dashboard's launch form reads.
 */
export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';
  title?: string;
  description?: string;
  default?: unknown;
  /** A string that is one of these. */
  enum?: string[];
  const?: unknown;
  /** T or null: [T, {"type": "null"}]. */
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
}

/**
 * GET /api/run-kinds: each kind POST /api/runs launches, with the JSON Schema of its config as a launch
 * takes it (without `out`: the server picks the run folder).
 */
export interface RunKindsView {
  kinds: Record<RunKind, JsonSchema>;
}
