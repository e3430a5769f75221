// A task's conversation (migration 5): stored beside the prompt text, shown in the task's view, exported
// in the full format, refused (naming the field, storing nothing of the batch) when it is not turns the
// page can show; and a store file from before the migration keeps working, for a reader too.
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { migrations } from '../../data/db.js';
import { exportLines, openReader } from '../../data/export.js';
import { Store, StoreError } from '../../data/store.js';
import { MAX_TURN_CHARS, MAX_TURNS, taskTurns } from '../../data/task-messages.js';
import { tempDir } from '../helpers.js';

const convo = [
  { role: 'system' as const, content: 'Be terse.' },
  { role: 'user' as const, content: 'What is 2+2?' },
  { role: 'assistant' as const, content: '4.' },
  { role: 'user' as const, content: 'And <b>3+3</b>?' },
];
const rendered = 'system: Be terse.\nuser: What is 2+2?\nassistant: 4.\nuser: And <b>3+3</b>?\nassistant:';

const fullExport = (file: string) => {
  const db = openReader(file);
  try {
    return [...exportLines(db, 'full')].map((l) => JSON.parse(l) as Record<string, unknown>);
  } finally {
    db.close();
  }
};

describe('data: a task keeps the conversation its prompt came from', () => {
  it('round-trips through the store, the task view and the full export; plain tasks have none', () => {
    const file = join(tempDir(), 'rlhf.db');
    const store = new Store(file);
    try {
      const [chat, plain] = store.addTasks([
        { prompt: rendered, messages: convo, completions: [{ text: '6.' }, { text: 'Six.' }] },
        { prompt: 'plain', completions: [{ text: 'a' }, { text: 'b' }] },
      ]);
      expect(store.task(chat)).to.deep.include({ prompt: rendered, messages: convo });
      expect(store.task(plain)).to.not.have.property('messages');
      const uid = (store.addUser('ann', 'labeler'), store.users()[0].id);
      for (const [t, c] of [[chat, 'c1'], [plain, 'c2']] as const) {
        expect(store.nextTask(uid)!.id).to.equal(t);
        store.submitLabels(uid, [{ taskId: t, clientId: c, kind: 'ranking', ranking: [0, 1] }]);
      }
      const rows = fullExport(file);
      expect(rows.map((r) => r.messages)).to.deep.equal([convo, null]);
      expect(rows[0].prompt).to.equal(rendered); // the text the model was conditioned on stays the prompt
      // the column holds JSON only, whoever writes it
      expect(() => store.db.prepare('UPDATE tasks SET messages = ? WHERE id = ?').run('not json', plain)).to.throw(/CHECK constraint/);
    } finally {
      store.close();
    }
  });

  it('refuses messages that are not turns, naming the field, and stores nothing of the batch', () => {
    const store = new Store(':memory:');
    try {
      const ok = { prompt: 'p', completions: [{ text: 'a' }, { text: 'b' }] };
      const refused = (messages: unknown) => {
        try {
          store.addTasks([ok, { ...ok, messages: messages as never }]);
        } catch (e) {
          expect(e).to.be.instanceOf(StoreError);
          return (e as Error).message;
        }
        return 'stored';
      };
      expect(refused([{ role: 'tool', content: 'x' }])).to.equal('tasks[1].messages[0].role: must be one of system, user, assistant');
      expect(refused([{ role: 'user', content: 'q' }, { role: 'assistant', content: null }])).to.equal('tasks[1].messages[1].content: expected a string');
      expect(refused([{ role: 'user', content: 'q', name: 'x' }])).to.equal('tasks[1].messages[0].name: unknown field');
      expect(refused([])).to.equal('tasks[1].messages: needs at least 1 turn');
      expect(refused('hi')).to.match(/^tasks\[1\]\.messages: expected a list/);
      expect(refused(Array.from({ length: MAX_TURNS + 1 }, () => ({ role: 'user', content: 'q' })))).to.equal(`tasks[1].messages: at most ${MAX_TURNS} turns`);
      expect(refused([{ role: 'user', content: 'x'.repeat(MAX_TURN_CHARS + 1) }])).to.equal(`tasks[1].messages[0].content: longer than ${MAX_TURN_CHARS} characters`);
      expect(store.db.prepare('SELECT count(*) FROM tasks').pluck().get()).to.equal(0);
      expect(refused(null)).to.equal('stored'); // null: no conversation
    } finally {
      store.close();
    }
  });

  it('taskTurns keeps role and content of a prompt conversation, or gives none the page could not show', () => {
    expect(taskTurns([{ role: 'user', content: 'hi', extra: 1 } as never])).to.deep.equal([{ role: 'user', content: 'hi' }]);
    expect(taskTurns([{ role: 'tool', content: 'x' }])).to.equal(undefined);
    expect(taskTurns([{ role: 'user', content: 'q' }, { role: 'assistant', content: null }])).to.equal(undefined);
    expect(taskTurns(undefined)).to.equal(undefined);
  });

  it('migrates a store file of schema version 4: its tasks and labels keep working, new tasks carry messages', () => {
    const file = join(tempDir(), 'old.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    for (const [n, sql] of migrations().filter(([n]) => n <= 4)) {
      old.exec(sql);
      old.pragma(`user_version = ${n}`);
    }
    const at = new Date().toISOString();
    old.prepare("INSERT INTO users (id, name, role, token_hash, created_at) VALUES (1, 'ann', 'labeler', 'h', ?)").run(at);
    old.prepare("INSERT INTO prompts (id, text, created_at) VALUES (1, 'old prompt', ?)").run(at);
    old.prepare("INSERT INTO completions (id, prompt_id, text, created_at) VALUES (1, 1, 'x', ?), (2, 1, 'y', ?)").run(at, at);
    old.prepare("INSERT INTO tasks (id, prompt_id, k, source, created_at) VALUES (1, 1, 2, 'old', ?)").run(at);
    old.prepare('INSERT INTO task_completions (task_id, position, completion_id) VALUES (1, 0, 1), (1, 1, 2)').run();
    old.prepare('INSERT INTO assignments (task_id, user_id, assigned_at, done_at) VALUES (1, 1, ?, ?)').run(at, at);
    old.prepare("INSERT INTO labels (task_id, user_id, client_id, kind, ranking, created_at) VALUES (1, 1, 'c', 'ranking', '[1,0]', ?)").run(at);
    old.close();

    // a read-only reader never migrates: the old file exports with messages null
    expect(fullExport(file).map((r) => [r.prompt, r.messages, r.ranked])).to.deep.equal([['old prompt', null, ['y', 'x']]]);

    const store = new Store(file);
    try {
      expect(store.db.pragma('user_version', { simple: true })).to.equal(migrations().length);
      expect(store.task(1)).to.deep.equal({ id: 1, prompt: 'old prompt', completions: [{ position: 0, text: 'x' }, { position: 1, text: 'y' }] });
      const [id] = store.addTasks([{ prompt: rendered, messages: convo, completions: [{ text: 'a' }, { text: 'b' }] }]);
      expect(store.task(id)!.messages).to.deep.equal(convo);
      expect(store.nextTask(1)!.id).to.equal(id); // the old label still counts: ann gets the new task
    } finally {
      store.close();
    }
    expect(fullExport(file).map((r) => r.messages)).to.deep.equal([null]);
  });
});
