// The project page's messages beyond wire.ts: its figures (GET /api/stats, server/stats.ts, extends
// wire.ts's Stats), and the review of labels (server/review-routes.ts): a page of labels under a filter,
// one task with all its labels side by side, and the rejection that takes a label out of exports and training.
import type { LabelerStats, Stats, TaskView } from './wire.js';

/** A labeler's figures. Counts, rates, speed and gold accuracy include labels a lead rejected; agreement does not. */
export interface LabelerFigures extends LabelerStats {
  ties: number;
  /** How many of this labeler's labels a lead rejected. */
  rejected: number;
  skipRate: number | null;
  tieRate: number | null;
  /** Against everyone else on the tasks they share: label pairs, percent agreement and Cohen's kappa on the top choice. */
  agreement: { pairs: number; percent: number | null; kappa: number | null };
}

/** Two labelers (a < b by name) on the tasks both labelled. */
export interface PairAgreement { a: string; b: string; tasks: number; percent: number | null; kappa: number | null }

/** A task its labelers disagree on: the share of its label pairs that agree on the top choice (below 1). */
export interface TaskDisagreement { taskId: number; labels: number; agreement: number; prompt: string }

export interface ProjectStats extends Stats {
  rejected: number;
  goldQuestions: number;
  labelers: LabelerFigures[];
  agreement: Stats['agreement'] & { pairwise: PairAgreement[] };
  /** The most contested tasks first (at most 20). */
  disagreement: TaskDisagreement[];
}

export interface ReviewLabel {
  id: number;
  taskId: number;
  labeler: string;
  kind: 'ranking' | 'tie' | 'skip';
  /** Display positions, best first (null for a tie or a skip). */
  ranking: number[] | null;
  rationale: string | null;
  ms: number | null;
  createdAt: string;
  /** The task's prompt, cut to 300 characters in a list (whole in ReviewTask.task). Text, never markup. */
  prompt: string;
  /** A gold question's known ranking (display positions), and whether this label's top choice matches it (null: not gold, or a skip). */
  gold: number[] | null;
  goldCorrect: boolean | null;
  /** The task's agreement on the top choice over its kept labels (null: fewer than two), and how many kept non-skip labels it has. */
  taskAgreement: number | null;
  taskLabels: number;
  rejected: { by: string | null; at: string; reason: string | null } | null;
}

/** GET /api/review/labels: newest first. */
export interface ReviewPage {
  total: number;
  offset: number;
  labels: ReviewLabel[];
}

/** GET /api/review/tasks/:id: the task as labelers saw it and every label of it, rejected ones included. */
export interface ReviewTask {
  task: TaskView;
  gold: number[] | null;
  agreement: number | null;
  /** The kept rankings aggregated by ranked pairs (null when there is none, or they cancel out). */
  consensus: number[] | null;
  labels: ReviewLabel[];
}

/** POST /api/review/labels/:id/reject (with an optional reason) and .../restore. */
export interface RejectResult {
  id: number;
  rejected: boolean;
}
