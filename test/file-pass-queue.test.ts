// The file source's pass queue (src/sources/file/pass-queue.ts): passes run one at a time in order, a pass that
// throws is reported (false, and to onFailure) without stopping the passes after it, and requests that arrive
// together are read by one pass.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../src/observability/logger.ts';
import { PassQueue } from '../src/sources/file/pass-queue.ts';

describe('file source: the pass queue', () => {
  it('says whether each pass completed, and a failed one does not stop those after it', async () => {
    const ran: string[] = [];
    const failures: string[] = [];
    const queue = new PassQueue(
      async (full, paths) => {
        ran.push(full ? 'full' : paths.join(','));
        await new Promise((resolve) => setImmediate(resolve));
        if (paths.includes('bad')) throw new Error('listing failed');
      },
      5,
      createLogger('silent'),
      (error) => failures.push((error as Error).message),
    );
    const results = await Promise.all([
      queue.run(false, ['a']),
      queue.run(false, ['bad']),
      queue.run(true, []),
    ]);
    assert.deepEqual(results, [true, false, true]);
    assert.deepEqual(ran, ['a', 'bad', 'full']);
    assert.deepEqual(failures, ['listing failed']);
    await queue.stop();
  });

  it('reads requests that arrive together in one pass, after they settle', async () => {
    const passes: string[][] = [];
    let done: () => void = () => {};
    const read = new Promise<void>((resolve) => (done = resolve));
    const queue = new PassQueue(
      (_full, paths) => {
        passes.push([...paths].sort());
        done();
        return Promise.resolve();
      },
      20,
      createLogger('silent'),
    );
    queue.request('x');
    queue.request('y');
    queue.request('x');
    await read;
    assert.deepEqual(passes, [['x', 'y']]);
    await queue.stop();
  });
});
