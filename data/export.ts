// Streaming exports of labels as JSONL: rows come from a SQLite cursor (statement.iterate), one at a
// time, so the export of any number of labels runs in flat memory.
//  - pairs: HH-RLHF / TRL style {"prompt","chosen","rejected"}; every ranking of K gives its K(K-1)/2
//    ordered pairs; ties and skips are left out (never turned into a preference).
//  - full: every label with its task, labeler, kind, ranking (as completion texts), rationale and time; the
//    task's conversation as "messages" (null for a plain-text prompt), beside the prompt text it rendered.
//  - aggregated: one line per task, its labelers' rankings made one by ranked pairs (data/ranked-pairs.ts),
//    in the full format's fields (kind "ranking", or "tie" when the rankings cancel out or all are ties),
//    with how many labels and which labelers it came from and the task's agreement.
// Rejected labels (the project page's review) are never exported: every trainer that reads the store
// (train-rm, dpo) reads it through this export. A filter (data/label-filter.ts) narrows it further.
import Database from 'better-sqlite3';
import { DB } from './db.js';
import { filterSql, hasRejections, LabelFilter } from './label-filter.js';
import { rankedPairs } from './ranked-pairs.js';

export type ExportFormat = 'pairs' | 'full' | 'aggregated';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['pairs', 'full', 'aggregated'];

interface Row {
  label_id: number;
  task_id: number;
  labeler: string;
  kind: string;
  ranking: string | null;
  rationale: string | null;
  ms: number | null;
  created_at: string;
  prompt: string;
  messages: string | null; // JSON [{role, content}] or NULL
  texts: string; // JSON array of completion texts in display order
  agreement: number | null;
}

// A reader never migrates: a store file from before migration 5 has no tasks.messages, exported as null;
// one from before migration 8 has no rejections.
function query(db: DB, format: ExportFormat, filter: LabelFilter): { sql: string; params: unknown[] } {
  const messages = db.prepare("SELECT 1 FROM pragma_table_info('tasks') WHERE name = 'messages'").get() !== undefined;
  const f = filterSql({ ...filter, status: 'kept' }, hasRejections(db), format === 'aggregated');
  return {
    sql: `${f.with}SELECT l.id AS label_id, l.task_id, u.name AS labeler, l.kind, l.ranking, l.rationale, l.ms, l.created_at,
  p.text AS prompt, ${messages ? 't.messages' : 'NULL AS messages'}, ${f.join ? 'ag.agreement' : 'NULL'} AS agreement,
  (SELECT json_group_array(text) FROM (SELECT c.text FROM task_completions tc JOIN completions c ON c.id = tc.completion_id
     WHERE tc.task_id = l.task_id ORDER BY tc.position)) AS texts
  FROM labels l JOIN users u ON u.id = l.user_id JOIN tasks t ON t.id = l.task_id JOIN prompts p ON p.id = t.prompt_id ${f.join}
  ${f.where} ORDER BY ${format === 'aggregated' ? 'l.task_id, ' : ''}l.id`,
    params: f.params,
  };
}

/**
 * Export lines from a connection of its own: an open cursor keeps its connection busy, and in WAL mode
 * a reader sees one snapshot without blocking the writer.
 */
export function openReader(file: string): DB {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

export function* exportLines(db: DB, format: ExportFormat, filter: LabelFilter = {}): Generator<string> {
  const { sql, params } = query(db, format, filter);
  const rows = db.prepare(sql).iterate(...params) as Iterable<Row>;
  if (format === 'aggregated') {
    yield* aggregated(rows);
    return;
  }
  for (const r of rows) {
    const texts = JSON.parse(r.texts) as string[];
    const ranking = r.ranking ? (JSON.parse(r.ranking) as number[]) : null;
    if (format === 'full') {
      yield JSON.stringify({
        label_id: r.label_id, task_id: r.task_id, labeler: r.labeler, kind: r.kind, prompt: r.prompt, messages: r.messages === null ? null : JSON.parse(r.messages),
        completions: texts, ranking, ranked: ranking?.map((p) => texts[p]) ?? null, rationale: r.rationale, ms: r.ms, created_at: r.created_at,
      }) + '\n';
    } else if (ranking) {
      for (let i = 0; i < ranking.length; i++) {
        for (let j = i + 1; j < ranking.length; j++) {
          yield JSON.stringify({ prompt: r.prompt, chosen: texts[ranking[i]], rejected: texts[ranking[j]] }) + '\n';
        }
      }
    }
  }
}

/** Rows in task order, one line per task that has a ranking or a tie; only one task's rows are held at a time. */
function* aggregated(rows: Iterable<Row>): Generator<string> {
  let group: Row[] = [];
  const flush = (): string | null => {
    const votes = group.filter((r) => r.kind !== 'skip');
    if (!votes.length) return null;
    const r = votes[0];
    const texts = JSON.parse(r.texts) as string[];
    // A tie label adds as much to a over b as to b over a: it changes no margin, so only rankings vote.
    const c = rankedPairs(texts.length, votes.filter((v) => v.ranking).map((v) => JSON.parse(v.ranking!) as number[]));
    return JSON.stringify({
      task_id: r.task_id, kind: c.tie ? 'tie' : 'ranking', prompt: r.prompt, messages: r.messages === null ? null : JSON.parse(r.messages), completions: texts,
      ranking: c.tie ? null : c.ranking, ranked: c.tie ? null : c.ranking.map((p) => texts[p]),
      labels: votes.length, labelers: votes.map((v) => v.labeler), agreement: r.agreement,
    }) + '\n';
  };
  for (const r of rows) {
    if (group.length && group[0].task_id !== r.task_id) {
      const line = flush();
      if (line) yield line;
      group = [];
    }
    group.push(r);
  }
  const line = group.length ? flush() : null;
  if (line) yield line;
}
