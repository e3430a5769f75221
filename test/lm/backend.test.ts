import { expect } from 'chai';
import { BackendError, initBackend } from '../../lm/backend.js';
import { useBackend } from '../helpers.js';

describe('lm/backend', () => {
  before(useBackend);
  after(useBackend);

  it('naming the native TensorFlow backend when it is not installed fails with one line saying how to get it', async function () {
    let err: Error | null = null;
    try {
      await initBackend('tensorflow', { quiet: true });
    } catch (e) {
      err = e as Error;
    }
    if (!err) this.skip(); // this machine has the native binding
    expect(err).to.be.instanceOf(BackendError);
    expect(err!.message).to.not.include('\n');
    expect(err!.message).to.match(/not available .*install @tensorflow\/tfjs-node/);
  });

  it('refuses an unknown backend name', async () => {
    let err: Error | null = null;
    await initBackend('tpu' as never, { quiet: true }).catch((e: Error) => (err = e));
    expect(err).to.be.instanceOf(BackendError);
    expect(String(err)).to.match(/unknown backend 'tpu'/);
  });

  it('auto picks a backend and says which on stderr', async () => {
    const write = process.stderr.write.bind(process.stderr);
    let said = '';
    process.stderr.write = ((s: string) => ((said += s), true)) as typeof process.stderr.write;
    try {
      const info = await initBackend('auto');
      expect(['tensorflow', 'wasm', 'cpu']).to.include(info.name);
    } finally {
      process.stderr.write = write;
    }
    expect(said).to.match(/^backend: (tensorflow|wasm|cpu)/);
  });
});
