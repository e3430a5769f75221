// The kinds whose whole config the server checks against its schema before queueing the run: GRPO, RLOO
// and DPO (rl/grpo/config.ts, rl/rloo/config.ts, dpo/config.ts with its onlineFeedback block). Their configs are resolved here exactly as the child will
// resolve them (defaults filled, every field and the rules between fields checked), so a bad field is a
// 400 naming it instead of a run that fails on start, and the launch file beside the run is the resolved
// copy. The other kinds keep their older contract: their paths and sizes are checked here and the child
// validates the rest (a bad value fails the run with its message). Schemas only: no tfjs is loaded.
import { StoreError } from '../data/store.js';
import { DpoConfigError, resolveDpoConfig } from '../dpo/config.js';
import { GrpoConfigError, resolveGrpoConfig } from '../rl/grpo/config.js';
import { resolveRlooConfig, RlooConfigError } from '../rl/rloo/config.js';

const RESOLVERS: Record<string, (raw: Record<string, unknown>, source: string) => object> = {
  grpo: resolveGrpoConfig,
  rloo: resolveRlooConfig,
  dpo: resolveDpoConfig,
};

/** The config as the child will read it (for the kinds above), or as given; a problem is a StoreError('invalid'). */
export function checkRunConfig(kind: string, config: Record<string, unknown>): Record<string, unknown> {
  const resolve = RESOLVERS[kind];
  if (!resolve) return config;
  try {
    return resolve(config, 'body.config') as Record<string, unknown>;
  } catch (e) {
    // a config problem: one line naming the field (anything else is a bug, and stays a 500)
    if (e instanceof GrpoConfigError || e instanceof RlooConfigError || e instanceof DpoConfigError) throw new StoreError('invalid', e.message);
    throw e;
  }
}
