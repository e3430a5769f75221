// Streaming exports of labels as JSONL: rows come from a SQLite cursor (statement.iterate), one at a
// time, so the export of any number of labels runs in flat memory.
//  - pairs: HH-RLHF / TRL style {"prompt","chosen","rejected"}; every ranking of K gives its K(K-1)/2
//    ordered pairs; ties and skips are left out (never turned into a preference).
//  - full: every label with its task, labeler, kind, ranking (as completion texts), rationale and time; the
//    task's conversation as "messages" (null for a plain-text prompt), beside the prompt text it rendered.
import Database from 'better-sqlite3';
import { DB } from './db.js';

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
}

// A reader never migrates: a store file from before migration 5 has no tasks.messages, exported as null.
const sql = (messages: boolean) => `SELECT l.id AS label_id, l.task_id, u.name AS labeler, l.kind, l.ranking, l.rationale, l.ms, l.created_at,
  p.text AS prompt, ${messages ? 't.messages' : 'NULL AS messages'},
  (SELECT json_group_array(text) FROM (SELECT c.text FROM task_completions tc JOIN completions c ON c.id = tc.completion_id
     WHERE tc.task_id = l.task_id ORDER BY tc.position)) AS texts
  FROM labels l JOIN users u ON u.id = l.user_id JOIN tasks t ON t.id = l.task_id JOIN prompts p ON p.id = t.prompt_id
  ORDER BY l.id`;

/**
 * Export lines from a connection of its own: an open cursor keeps its connection busy, and in WAL mode
 * a reader sees one snapshot without blocking the writer.
 */
export function openReader(file: string): DB {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

export function* exportLines(db: DB, format: 'pairs' | 'full'): Generator<string> {
  const messages = db.prepare("SELECT 1 FROM pragma_table_info('tasks') WHERE name = 'messages'").get() !== undefined;
  for (const r of db.prepare(sql(messages)).iterate() as Iterable<Row>) {
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
