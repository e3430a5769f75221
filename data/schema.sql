-- The rlhf-trainer store. Numbered migrations, applied in order at start-up; PRAGMA user_version records
-- the last one applied. Never edit a migration that has shipped: add the next one.
-- Times are ISO-8601 UTC text.

-- migration 1
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('labeler', 'researcher', 'admin')),
  token_hash TEXT NOT NULL UNIQUE,           -- sha256 of the bearer token; the token itself is never stored
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);

CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,                        -- sft | train-rm | ppo | ...
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'stopped', 'failed', 'done')),
  config TEXT NOT NULL,                      -- the resolved config, JSON
  error TEXT,
  pid INTEGER,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE checkpoints (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(id),
  step INTEGER NOT NULL,
  path TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE metrics (
  run_id TEXT NOT NULL REFERENCES runs(id),
  step INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL,
  time TEXT NOT NULL,
  PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;

CREATE TABLE prompts (
  id INTEGER PRIMARY KEY,
  text TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);

CREATE TABLE completions (
  id INTEGER PRIMARY KEY,
  prompt_id INTEGER NOT NULL REFERENCES prompts(id),
  text TEXT NOT NULL,
  tokens INTEGER,                            -- token count under the generating model's tokenizer
  model TEXT,                                -- model folder or checkpoint that wrote it
  run_id TEXT REFERENCES runs(id),
  step INTEGER,
  created_at TEXT NOT NULL
);
CREATE INDEX completions_prompt ON completions(prompt_id);

CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  prompt_id INTEGER NOT NULL REFERENCES prompts(id),
  k INTEGER NOT NULL CHECK (k >= 2),
  gold TEXT,                                 -- for gold questions: the known ranking (JSON positions, best first)
  source TEXT,                               -- who enqueued it: a CLI command or a run id
  created_at TEXT NOT NULL
);

-- The completions of a task in the order they are shown (shuffled when the task is created).
CREATE TABLE task_completions (
  task_id INTEGER NOT NULL REFERENCES tasks(id),
  position INTEGER NOT NULL,
  completion_id INTEGER NOT NULL REFERENCES completions(id),
  PRIMARY KEY (task_id, position)
) WITHOUT ROWID;

CREATE TABLE assignments (
  task_id INTEGER NOT NULL REFERENCES tasks(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  assigned_at TEXT NOT NULL,
  done_at TEXT,
  PRIMARY KEY (task_id, user_id)
) WITHOUT ROWID;
CREATE INDEX assignments_user ON assignments(user_id, done_at);

CREATE TABLE labels (
  id INTEGER PRIMARY KEY,
  task_id INTEGER NOT NULL REFERENCES tasks(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  client_id TEXT NOT NULL,                   -- chosen by the client: a resubmit with the same id stores nothing new
  kind TEXT NOT NULL CHECK (kind IN ('ranking', 'tie', 'skip')),
  ranking TEXT,                              -- JSON positions best first (a pairwise choice is a ranking of 2)
  rationale TEXT,
  ms INTEGER,                                -- time the labeler spent on the task
  created_at TEXT NOT NULL,
  UNIQUE (user_id, client_id),
  UNIQUE (task_id, user_id)
);
CREATE INDEX labels_task ON labels(task_id);

CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  user_id INTEGER,
  action TEXT NOT NULL,
  detail TEXT
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO settings (key, value) VALUES ('overlap', '1'), ('guidelines', ''), ('assignment_ttl_s', '1800');

-- migration 2
-- The run manager (server/run-manager.ts) and rlhf <kind> --db (data/sqlite-sink.ts).
ALTER TABLE runs ADD COLUMN origin TEXT NOT NULL DEFAULT 'cli';   -- 'server': a child of the run manager; 'cli': started by hand with --db
ALTER TABLE runs ADD COLUMN dir TEXT;                             -- the run's folder (log, config file, default out)
ALTER TABLE runs ADD COLUMN started_at TEXT;
ALTER TABLE runs ADD COLUMN ended_at TEXT;
ALTER TABLE runs ADD COLUMN exit_code INTEGER;
-- A row per step for the CSV export and the dashboard's x-axis (the primary key is by name first).
CREATE INDEX metrics_run_step ON metrics(run_id, step);
CREATE INDEX runs_state ON runs(state);

-- Sample generations shown beside the curves.
CREATE TABLE run_samples (
  run_id TEXT NOT NULL REFERENCES runs(id),
  step INTEGER NOT NULL,
  idx INTEGER NOT NULL,                      -- row within the step's table
  prompt TEXT NOT NULL,
  completion TEXT NOT NULL,
  score REAL,
  gold REAL,
  time TEXT NOT NULL,
  PRIMARY KEY (run_id, step, idx)
) WITHOUT ROWID;

-- Things that happened at a step: checkpoints, reward-model switches, early stops, the resolved config.
CREATE TABLE run_events (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(id),
  step INTEGER NOT NULL,
  kind TEXT NOT NULL,
  data TEXT NOT NULL,                        -- JSON
  time TEXT NOT NULL
);
CREATE INDEX run_events_run ON run_events(run_id, step);

-- migration 3
-- A counter that changes whenever users or settings do, from any connection or process: the server keeps
-- tokens and settings in memory and reloads them when it moves (data/versioned-cache.ts). PRAGMA
-- data_version would also move on every label commit of the server's own writer thread.
CREATE TABLE cache_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n INTEGER NOT NULL
);
INSERT INTO cache_version (id, n) VALUES (1, 0);
CREATE TRIGGER users_insert_version AFTER INSERT ON users BEGIN UPDATE cache_version SET n = n + 1; END;
CREATE TRIGGER users_update_version AFTER UPDATE ON users BEGIN UPDATE cache_version SET n = n + 1; END;
CREATE TRIGGER users_delete_version AFTER DELETE ON users BEGIN UPDATE cache_version SET n = n + 1; END;
CREATE TRIGGER settings_insert_version AFTER INSERT ON settings BEGIN UPDATE cache_version SET n = n + 1; END;
CREATE TRIGGER settings_update_version AFTER UPDATE ON settings BEGIN UPDATE cache_version SET n = n + 1; END;
CREATE TRIGGER settings_delete_version AFTER DELETE ON settings BEGIN UPDATE cache_version SET n = n + 1; END;

-- migration 4
-- Runs have owners: a researcher stops, resumes and reads the logs of their own runs (admins any).
-- NULL for runs recorded before owners existed and for CLI runs (rlhf <kind> --db).
ALTER TABLE runs ADD COLUMN owner_id INTEGER REFERENCES users(id);
CREATE INDEX runs_owner_state ON runs(owner_id, state);
-- Paging GET /api/runs newest first.
CREATE INDEX runs_created ON runs(created_at, id);

-- migration 5
-- A task whose prompt came from a conversation (TRL's conversational format) keeps it beside the prompt
-- text, which stays what the model was conditioned on: JSON [{"role", "content"}, ...], shown by the
-- labeling page as turns. NULL for a plain-text prompt, and for every task stored before.
ALTER TABLE tasks ADD COLUMN messages TEXT CHECK (messages IS NULL OR json_valid(messages));

-- migration 6
-- A sample row's extra cells (GRPO, RLOO): each reward function's value by its name and the columns reward
-- functions logged, as a JSON object of strings, numbers, booleans and nulls. NULL for rows without any
-- (PPO's) and for every row stored before.
ALTER TABLE run_samples ADD COLUMN columns TEXT CHECK (columns IS NULL OR json_valid(columns));

-- migration 7
-- What a researcher writes about a run on the dashboard: a display name, tags (a JSON array of strings)
-- and free-text notes. NULL until someone sets them (PUT /api/runs/:id/meta).
ALTER TABLE runs ADD COLUMN name TEXT;
ALTER TABLE runs ADD COLUMN tags TEXT CHECK (tags IS NULL OR json_valid(tags));
ALTER TABLE runs ADD COLUMN notes TEXT;

-- migration 8
-- A lead's review (the project page): a rejected label stays in the store and the audit log but leaves
-- every export, and so every trainer that reads one (train-rm, dpo), and the agreement figures. One row
-- per rejected label; restoring it deletes the row (the audit log keeps both). A label that is removed
-- takes its rejection with it.
CREATE TABLE label_rejections (
  label_id INTEGER PRIMARY KEY REFERENCES labels(id) ON DELETE CASCADE,
  user_id INTEGER REFERENCES users(id),      -- who rejected it
  reason TEXT,
  at TEXT NOT NULL
);
-- Reviews and exports filter labels by time.
CREATE INDEX labels_created ON labels(created_at);
