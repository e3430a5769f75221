// The reference policy's log-probabilities, computed once before training (TRL's precompute_ref_log_probs)
// and cached in the run folder as ref-logps.safetensors, keyed by a SHA-256 of the reference kind, the model
// folder's config and weights and every token of the data: a resume, or a rerun into the same folder, reads
// them back instead of running the reference again, and a changed model or data never matches a stale file.
// The reference is the starting model, obtained three ways:
//   adapter-off  the policy with its LoRA adapter switched off (bit-exact base model, no second copy);
//   copy         the starting model: a fresh run computes with the policy before its first update (the same
//                weights), a resume without a cache loads the model folder again;
//   none         reference-free (TRL's reference_free): log π_ref = 0, nothing computed or cached.
import { createHash, Hash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint, writeFileAtomic } from '../lm/checkpoint.js';
import type { Lora } from '../lm/lora.js';
import type { GPT } from '../lm/model.js';
import { SafetensorsFile, serializeSafetensors } from '../lm/safetensors.js';
import type { ReferenceKind } from './config.js';
import type { DpoExample } from './data.js';
import { completionLogps } from './forward.js';

export const REF_FILE = 'ref-logps.safetensors';

function hashFile(h: Hash, f: string): void {
  const fd = openSync(f, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** The cache key: the reference kind, the model folder's config.json and *.safetensors, and every example's tokens. */
export function referenceKey(modelDir: string, kind: ReferenceKind, examples: DpoExample[]): string {
  const h = createHash('sha256');
  h.update(`dpo reference log-probabilities v1\n${kind}\n`);
  for (const f of readdirSync(modelDir).filter((n) => n === 'config.json' || n.endsWith('.safetensors')).sort()) {
    h.update(`${f}\n`);
    hashFile(h, join(modelDir, f));
  }
  for (const e of examples) h.update(JSON.stringify([e.promptIds, e.completionIds]) + '\n');
  return h.digest('hex');
}

export interface ReferenceOptions {
  out: string;
  modelDir: string;
  kind: ReferenceKind;
  /** Every example of the run (training and validation), in a fixed order. */
  examples: DpoExample[];
  batchSize: number;
  pad: number;
  policy: GPT;
  lora: Lora | null;
  /** The policy still holds the starting weights (a fresh run, before its first update). */
  fresh: boolean;
}

/** Fill every example's refLogps, from the cache when its key matches. Returns whether the cache was used. */
export function attachReference(o: ReferenceOptions): { cached: boolean; key: string | null } {
  const n = o.examples.reduce((a, e) => a + e.completionIds.length, 0);
  let values: Float32Array;
  let cached = false;
  let key: string | null = null;
  if (o.kind === 'none') values = new Float32Array(n);
  else {
    key = referenceKey(o.modelDir, o.kind, o.examples);
    const f = join(o.out, REF_FILE);
    const prev = existsSync(f) ? new SafetensorsFile(readFileSync(f), f) : null;
    if (prev && prev.metadata.key === key && prev.entries.get('ref_logps')?.shape[0] === n) {
      values = prev.float32('ref_logps');
      cached = true;
    } else {
      values = computeReference(o);
      writeFileAtomic(f, serializeSafetensors([{ name: 'ref_logps', shape: [n], data: values }], { key }));
    }
  }
  let at = 0;
  for (const e of o.examples) e.refLogps = e.completionIds.map(() => values[at++]);
  return { cached, key };
}

/** The reference log-probabilities of every completion, in example order, without the cache. */
export function computeReference(o: Omit<ReferenceOptions, 'out'>): Float32Array {
  if (o.kind === 'adapter-off') {
    if (!o.lora) throw new Error('reference adapter-off needs LoRA adapters on the policy');
    o.lora.enabled = false;
    try {
      return completionLogps(o.policy, o.examples, o.batchSize, o.pad);
    } finally {
      o.lora.enabled = true;
    }
  }
  if (o.fresh) return completionLogps(o.policy, o.examples, o.batchSize, o.pad);
  const ref = loadCheckpoint(o.modelDir).model;
  try {
    ref.setFrozen(true);
    return completionLogps(ref, o.examples, o.batchSize, o.pad);
  } finally {
    ref.dispose();
  }
}
