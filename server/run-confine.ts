// A run config that arrives through the API is untrusted input (the model is Label Studio's document root
// and W&B Launch's admin-defined queues). Before a run is queued, every path in its config is resolved
// with symlinks followed and must lie under the workspace's read roots; the run's folder is always one the
// server picks under its runs folder; a store path can only be the server's own store; and module rewards
// load only from folders an admin registered. Refusals are 400s that name the field and never say whether
// a path outside the workspace exists. The CLI, run by a user on their own machine, trusts its own paths:
// this file is about the API.
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { StoreError } from '../data/store.js';

export interface Workspace {
  /** Folders a run may read from (checkpoints, prompts, data). */
  readRoots: string[];
  /** Folders whose JS/TS modules may be used as `reward` / `goldReward` (registered by an admin). */
  rewardModules: string[];
  /** Where runs write; a run's `out` is always a fresh folder under it. */
  runsDir: string;
  /** The server's own label store: the only store a run may name. */
  storeFile: string;
}

/** Rules the child knows by name; anything else is a folder (a reward model) or a module path. */
const BUILTIN_REWARDS = new Set(['sentiment', 'length']);
/** Refused whatever roots an admin gave: kernel and device files are never run input. */
const NEVER = ['/proc', '/dev', '/sys'];
const MAX_DEPTH = 6;
const MAX_KEYS = 500;

const invalid = (field: string, why: string): never => {
  throw new StoreError('invalid', `body.config.${field}: ${why}`);
};

/** `realpath` of the longest existing prefix, plus the rest: where a path really points, existing or not. */
export function realPath(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realPath(parent), basename(abs));
  }
}

const under = (p: string, root: string): boolean => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/** A workspace with its roots resolved once (so a symlinked root still matches). */
export function resolveWorkspace(w: Workspace): Workspace {
  return { readRoots: w.readRoots.map(realPath), rewardModules: w.rewardModules.map(realPath), runsDir: realPath(w.runsDir), storeFile: realPath(w.storeFile) };
}

/**
 * Refuse what no config can need and what breaks the server's own handling: prototype keys (`__proto__`,
 * `constructor`, `toString`: a field lookup with `in` would accept them), nesting deeper than any config
 * has (JSON.stringify would overflow the stack), and strings with NUL bytes.
 */
export function checkShape(v: unknown, path = 'body.config', depth = 0, count = { keys: 0 }): void {
  if (depth > MAX_DEPTH) throw new StoreError('invalid', `${path}: nested deeper than ${MAX_DEPTH} levels`);
  if (typeof v === 'string' && v.includes('\0')) throw new StoreError('invalid', `${path}: contains a NUL character`);
  if (typeof v !== 'object' || v === null) return;
  for (const [k, x] of Object.entries(v)) {
    if (++count.keys > MAX_KEYS) throw new StoreError('invalid', `body.config: more than ${MAX_KEYS} fields`);
    if (!Array.isArray(v) && k in Object.prototype) throw new StoreError('invalid', `${path}.${k}: unknown field`);
    checkShape(x, Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`, depth + 1, count);
  }
}

/** The store, its WAL and shared memory, and the admin token file beside it: never run input, whatever the roots. */
const storeFile = (ws: Workspace, p: string): boolean =>
  p === ws.storeFile || p === `${ws.storeFile}-wal` || p === `${ws.storeFile}-shm` || p.endsWith('.admin-token');

/** Resolve a path field under the read roots; the refusal is the same whether or not the file exists. */
function readable(ws: Workspace, field: string, v: unknown): string {
  if (typeof v !== 'string' || !v) return invalid(field, 'must be a path');
  const given = resolve(v); // relative paths are the server's working directory's, as for its children
  const p = realPath(v);
  // the runs folder's own files (other runs' logs and launch configs) are not run input; its run folders are
  const runsFile = dirname(p) === ws.runsDir && !isDir(p);
  // /proc/<pid>/fd/N resolves to whatever the descriptor is (a log of the server's stdout, say): refused as
  // given, not only where it leads
  const kernel = NEVER.some((n) => under(given, n) || under(p, n));
  if (runsFile || kernel || storeFile(ws, p) || !ws.readRoots.some((r) => under(p, r))) {
    return invalid(field, `must be inside the server's workspace (${ws.readRoots.join(', ')}); ask an admin to add a folder with rlhf serve --allow-read DIR`);
  }
  return p;
}

/** A store path in a config may only be the server's own store (any spelling of it). */
function ownStore(ws: Workspace, field: string, v: unknown): string {
  if (typeof v !== 'string' || realPath(v) !== ws.storeFile) invalid(field, "runs launched through the API use the server's own store; leave it out");
  return ws.storeFile;
}

/**
 * A `reward` entry: a built-in rule, a reward-model folder in the workspace, or a module an admin registered.
 * `goldReward` is a rule or a module only (the trainers load it with ruleSource), so no folder. With
 * `exportName` (the reward lists of GRPO and RLOO, rl/reward-fns/open.ts) a module may name its export
 * as `file.ts#name`: the name is split off before the path check and must be an identifier.
 */
function reward(ws: Workspace, field: string, v: unknown, o: { folder?: boolean; exportName?: boolean } = {}): string {
  const folder = o.folder ?? true;
  if (typeof v !== 'string' || !v) return invalid(field, 'must be a rule name, a reward-model folder or a registered module');
  if (BUILTIN_REWARDS.has(v)) return v;
  const refuse = () => invalid(field, `must be ${[...BUILTIN_REWARDS].join(' or ')}, ${folder ? 'a reward-model folder inside the workspace, ' : ''}or a module in a folder an admin registered (GET /api/reward-modules)`);
  const hash = o.exportName ? v.lastIndexOf('#') : -1;
  if (hash >= 0) {
    const name = v.slice(hash + 1);
    if (!IDENTIFIER.test(name)) invalid(field, `the export named after '#' must be a JavaScript identifier (letters, digits, _ or $, not starting with a digit), got ${JSON.stringify(name.slice(0, 60))}`);
    const p = realPath(v.slice(0, hash));
    if (ws.rewardModules.some((r) => under(p, r)) && isFile(p)) return `${p}#${name}`;
    return invalid(field, `'#${name}' names an export of a module, and the module must be a file in a folder an admin registered (GET /api/reward-modules)`);
  }
  const p = realPath(v);
  if (ws.rewardModules.some((r) => under(p, r)) && isFile(p)) return p;
  if (!folder) return refuse();
  let dir: string;
  try {
    dir = readable(ws, field, v);
  } catch {
    return refuse();
  }
  return isDir(dir) ? dir : refuse();
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() === true;
const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;

/**
 * The config a run launched through the API may have: every path confined and replaced by its real path,
 * `out` set to `runDir` (a given `out` is refused), store paths pinned to the server's store.
 */
export function confineRunConfig(kind: string, config: Record<string, unknown>, ws: Workspace, runDir: string): Record<string, unknown> {
  checkShape(config);
  if ('out' in config) invalid('out', 'the server picks the run folder (under its runs folder); leave out unset');
  const c: Record<string, unknown> = { ...config, out: runDir };
  const path = (f: string) => {
    if (c[f] !== undefined && c[f] !== null) c[f] = readable(ws, f, c[f]);
  };
  const paths = (f: string) => {
    const v = c[f];
    if (v === undefined) return;
    if (!Array.isArray(v)) return invalid(f, 'must be a list of paths');
    // corpus:NAME names a dataset package the child loads by name (data/corpora.ts), not a path
    c[f] = v.map((x, i) => (typeof x === 'string' && /^corpus:[\w-]+$/.test(x) ? x : readable(ws, `${f}[${i}]`, x)));
  };
  path('model');
  if (kind === 'sft') {
    paths('data');
    if (c.init && typeof c.init === 'object') {
      const init = { ...(c.init as Record<string, unknown>) };
      if (init.tokenizer !== undefined) init.tokenizer = readable(ws, 'init.tokenizer', init.tokenizer);
      c.init = init;
    }
  } else if (kind === 'train-rm') {
    paths('data');
    path('reference');
    if (c.db !== undefined && c.db !== null) c.db = ownStore(ws, 'db', c.db);
  } else if (kind === 'ppo') {
    path('prompts');
    if (c.reward !== undefined) c.reward = reward(ws, 'reward', c.reward);
    rlCommon(ws, c);
  } else if (kind === 'grpo' || kind === 'rloo') {
    path('prompts');
    // a list of rewards (rl/online-rl-fields.ts); PPO's single string is taken as a list of one, as the CLI does
    const list = typeof c.reward === 'string' ? [c.reward] : c.reward;
    if (list !== undefined) {
      if (!Array.isArray(list)) invalid('reward', 'must be a list of rewards: rule names, reward-model folders or registered modules (file.ts or file.ts#exportName)');
      c.reward = (list as unknown[]).map((r, i) => reward(ws, `reward[${i}]`, r, { exportName: true }));
    }
    rlCommon(ws, c);
  } else if (kind === 'dpo') {
    dpoData(ws, c);
  }
  return c;
}

/**
 * DPO's data: JSONL files in the workspace, or a label store: the server's own (given, or filled in when
 * the config names neither db nor data, so a launch with no data trains on the server's labels) or a
 * store file in the workspace (a copy, read-only). Online DPO sends its tasks to the server's store only,
 * and its prompt file is a workspace path.
 */
function dpoData(ws: Workspace, c: Record<string, unknown>): void {
  const data = c.data;
  if (data !== undefined) {
    if (!Array.isArray(data)) invalid('data', 'must be a list of JSONL files');
    c.data = (data as unknown[]).map((x, i) => readable(ws, `data[${i}]`, x));
  }
  if (c.db !== undefined && c.db !== null) c.db = typeof c.db === 'string' && realPath(c.db) === ws.storeFile ? ws.storeFile : readable(ws, 'db', c.db);
  else if (!(c.data as unknown[] | undefined)?.length) c.db = ws.storeFile;
  if (c.onlineFeedback && typeof c.onlineFeedback === 'object' && !Array.isArray(c.onlineFeedback)) {
    const o = { ...(c.onlineFeedback as Record<string, unknown>) };
    o.db = o.db === undefined ? ws.storeFile : ownStore(ws, 'onlineFeedback.db', o.db);
    if (o.promptFile !== undefined) o.promptFile = readable(ws, 'onlineFeedback.promptFile', o.promptFile);
    c.onlineFeedback = o;
  }
}

/** What PPO, GRPO and RLOO configs share: the gold reward (a rule or module) and the online loop's store and base. */
function rlCommon(ws: Workspace, c: Record<string, unknown>): void {
  if (c.goldReward !== undefined && c.goldReward !== null) c.goldReward = reward(ws, 'goldReward', c.goldReward, { folder: false });
  if (c.onlineFeedback && typeof c.onlineFeedback === 'object' && !Array.isArray(c.onlineFeedback)) {
    const o = { ...(c.onlineFeedback as Record<string, unknown>) };
    o.db = o.db === undefined ? ws.storeFile : ownStore(ws, 'onlineFeedback.db', o.db);
    if (o.rmBase !== undefined && o.rmBase !== 'previous') o.rmBase = readable(ws, 'onlineFeedback.rmBase', o.rmBase);
    c.onlineFeedback = o;
  }
}
