// endpointd's Node flags are set in four places — the bin's shebang and its hand-over to the pinned Node, the
// `npm start` script, the image's ENTRYPOINT — and the benchmark reads them from the start script: all must say the
// same, and the flags must take effect in the process that `npm start` and the bin run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { productionNodeFlags } from '../bench/support/node-flags.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'endpointd.cjs');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

describe("endpointd's Node flags", () => {
  const flags = productionNodeFlags();

  it('are the same in the start script, the shebang, the hand-over and the ENTRYPOINT', () => {
    assert.ok(flags.includes('--max-semi-space-size=16'), `start script flags: ${flags.join(' ')}`);
    assert.ok(flags.includes('--min-semi-space-size=8'), `start script flags: ${flags.join(' ')}`);
    const bin = read('bin/endpointd.cjs');
    assert.equal(bin.split('\n')[0], `#!/usr/bin/env -S node ${flags.join(' ')}`);
    const declared = /var NODE_FLAGS = (\[[^\]]*\]);/.exec(bin)?.[1];
    assert.deepEqual(JSON.parse((declared ?? 'null').replaceAll("'", '"')), flags);
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    assert.deepEqual(JSON.parse(entrypoint ?? 'null'), ['node', ...flags, 'dist/main.js']);
  });

  it('take effect: the young generation of a process started as the start script does starts at the floor and stays within the cap', () => {
    // What V8 reports of its new space at start, and after allocating well past 2 × 16 MB of short-lived objects.
    const probe =
      "const n=()=>require('v8').getHeapSpaceStatistics().find(x=>x.space_name==='new_space').space_size;" +
      'const first=n();let k=[];for(let i=0;i<3e6;i++){k.push({i});if(k.length>1e5)k=[]}' +
      'console.log(first, n())';
    const ran = spawnSync(process.execPath, [...flags, '-e', probe], { encoding: 'utf8' });
    assert.equal(ran.status, 0, ran.stderr);
    const [first, after] = ran.stdout.trim().split(' ').map(Number);
    // V8's own start is 1 MB; the floor is 8 MB.
    assert.ok((first ?? 0) >= 8 * 2 ** 20, `new space at start ${first}`);
    assert.ok((after ?? Infinity) <= 3 * 16 * 2 ** 20, `new space after ${after}`);
  });

  it('let the bin run through its shebang (env -S) on this system', () => {
    const ran = spawnSync(BIN, ['--version'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` },
    });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout, 'endpointd 0.1.0\n');
  });
});
