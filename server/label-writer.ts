// Where a batch of labels is committed. On its own thread by default: a worker with its own connection
// to the store runs each batch's IMMEDIATE transaction, fsync included (synchronous=FULL), while the
// main thread goes on reading requests. Run on the main thread, that fsync stopped the event loop for
// 0.2-3.5 ms a batch here (more when other work was writing to the disk), half the server's time.
// A result reaches the main thread only after its transaction has committed. Batches and results cross
// as JSON text: one string to copy, where structured cloning walked every small object (9% of the main
// thread in the profile).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { LabelItem, LabelOutcome, Store, StoreError } from '../data/store.js';

export interface Committer {
  commit(items: LabelItem[]): Promise<LabelOutcome[]>;
  close(): Promise<void>;
}

/** On the calling thread, through the given store: for in-memory stores, and as the fallback. */
export function inlineCommitter(store: Store): Committer {
  return { commit: async (items) => store.submitEach(items), close: async () => {} };
}

type Wire = { out: (Exclude<LabelOutcome, { error: StoreError }> | { error: { code: StoreError['code']; message: string } })[] } | { fatal: string };

/** On a worker thread with its own connection to `file`. One batch at a time (the queue waits for each). */
export function threadCommitter(file: string, fallback: Store): Committer {
  // The worker loads TypeScript the way bin/rlhf.js does: tsx's loader, then this very module.
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const api = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api'].import.default;
  const tsx = pathToFileURL(join(dirname(pkg), api)).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { labelWriter: file } });
  worker.unref(); // an idle writer never keeps the process alive
  let waiting: { resolve: (o: LabelOutcome[]) => void; reject: (e: Error) => void } | null = null;
  let broken: Error | null = null;
  worker.on('message', (text: string) => {
    const m = JSON.parse(text) as Wire;
    const w = waiting!;
    waiting = null;
    if ('fatal' in m) return w.reject(new Error(m.fatal));
    w.resolve(m.out.map((o) => ('error' in o ? { error: new StoreError(o.error.code, o.error.message) } : o)));
  });
  const fail = (e: Error) => {
    broken = e;
    console.error(`label writer thread stopped (${e.message}); committing on the main thread from now on`);
    waiting?.reject(e); // that batch may or may not have committed; its requests get 500 and clients resend (idempotent)
    waiting = null;
  };
  worker.on('error', fail);
  worker.on('exit', (code) => broken ?? fail(new Error(`exit ${code}`)));
  const inline = inlineCommitter(fallback);
  return {
    commit(items) {
      if (broken) return inline.commit(items);
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        worker.postMessage(JSON.stringify(items));
      });
    },
    async close() {
      broken ??= new Error('closed');
      await worker.terminate();
    },
  };
}

// The worker's side.
if (!isMainThread && workerData?.labelWriter) {
  const store = new Store(workerData.labelWriter as string);
  parentPort!.on('message', (text: string) => {
    let msg: Wire;
    try {
      msg = { out: store.submitEach(JSON.parse(text) as LabelItem[]).map((o) => ('error' in o ? { error: { code: o.error.code, message: o.error.message } } : o)) };
    } catch (e) {
      msg = { fatal: String((e as Error).message ?? e) }; // rolled back: nothing of the batch was stored
    }
    parentPort!.postMessage(JSON.stringify(msg));
  });
}
