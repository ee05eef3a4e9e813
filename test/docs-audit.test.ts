// Claims of the README and docs/ that endpointd's real behaviour does not hold (found by a documentation audit):
// each test asserts what the documentation says, against the real endpointd.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ServiceBody } from '../src/api/rest/wire.ts';
import { parseClientArgs } from '../src/cli/args.ts';
import { HELP } from '../src/cli/help.ts';
import { sliceManifest } from './support/endpointd.ts';
import { fillerFiles, startMultiSourceEndpointd } from './support/docs-audit-sources.ts';
import { get } from './support/http.ts';

describe('docs audit: README "Sources"', () => {
  // README.md, "Sources": "A Service defined by two sources is an error: it is logged and the first source's
  // definition is served; if that source drops it, the other's takes over." The store serves whichever source
  // published first, so the answer (and its version, "equal on every replica and across restarts") depends on
  // which source finished reading first: here the first source, the larger one, loses to the second.
  it("serves the first --source's definition of a Service that two sources define, whichever is read first", async () => {
    const t = await startMultiSourceEndpointd([
      { ...fillerFiles(3000), 'zz-web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']) },
      { 'web.yaml': sliceManifest('shop', 'web', ['10.0.0.2']) },
    ]);
    try {
      const answer = await get(`${t.url}/v1/namespaces/shop/services/web`);
      assert.equal(answer.status, 200);
      assert.deepEqual(
        answer.json<ServiceBody>().endpoints.map((e) => e.addresses[0]),
        ['10.0.0.1'],
        'the first source (--source file:A before --source file:B) is served',
      );
    } finally {
      await t.stop();
    }
  });
});

describe('docs audit: docs/dashboard-and-cli.md "Connection options"', () => {
  // "Connection options (each also read from its environment variable; the flag wins)". With ENDPOINTD_TOKEN_FILE
  // in the environment (a profile, a CI job), a `--token` given for one call is refused as a usage error (exit 2:
  // "give --token or --token-file, not both") instead of winning; the reverse (ENDPOINTD_TOKEN and --token-file)
  // lets the flag win, as documented.
  it('lets --token win over ENDPOINTD_TOKEN_FILE, as --token-file wins over ENDPOINTD_TOKEN', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-docs-audit-'));
    try {
      const tokenFile = join(dir, 'token');
      await writeFile(tokenFile, 'from-the-file\n');
      const reverse = parseClientArgs('get', ['--token-file', tokenFile], {
        ENDPOINTD_TOKEN: 'from-the-env',
      });
      assert.notEqual(reverse, 'help');
      assert.equal(reverse === 'help' ? undefined : reverse.connection.token, 'from-the-file');

      const flagWins = parseClientArgs('get', ['--token', 'from-the-flag'], {
        ENDPOINTD_TOKEN_FILE: tokenFile,
      });
      assert.notEqual(flagWins, 'help');
      assert.equal(flagWins === 'help' ? undefined : flagWins.connection.token, 'from-the-flag');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("docs audit: the client commands' --help", () => {
  // `endpointd watch --help` listed `--port`, which watch refuses ("--port goes with get SERVICE"): every option a
  // command's help lists must be one that command takes.
  it('lists only options its command accepts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-docs-audit-'));
    try {
      const tokenFile = join(dir, 'token');
      await writeFile(tokenFile, 'a-token\n');
      const sample: Record<string, readonly string[]> = {
        server: ['http://127.0.0.1:1'],
        'token-file': [tokenFile],
        'cert-file': ['client.crt', '--key-file', 'client.key'],
        'key-file': ['client.key', '--cert-file', 'client.crt'],
        'request-timeout': ['5s'],
        namespace: ['demo'],
        output: ['json'],
        port: ['http'],
        cluster: ['east'],
        zone: ['zone-a'],
        node: ['node-1'],
        region: ['europe'],
        'sub-zone': ['node-1'],
      };
      let checked = 0;
      for (const [command, text] of Object.entries(HELP)) {
        for (const [, flag, metavar] of text.matchAll(/^\s+(?:-\w, )?--([a-z-]+)(?: ([A-Z]+))?/gm)) {
          if (flag === undefined || flag === 'help') continue;
          const value = metavar === undefined ? [] : (sample[flag] ?? ['x']);
          // With a SERVICE or without (-A goes without one, --port with one): one of the two must be taken.
          const forms = (command === 'bootstrap' ? [[]] : [['demo/web'], []]).map((service) => [
            ...service,
            `--${flag}`,
            ...value,
          ]);
          const refusals = forms.flatMap((argv) => {
            try {
              parseClientArgs(command, argv, {});
              return [];
            } catch (error) {
              return [`${argv.join(' ')}: ${(error as Error).message}`];
            }
          });
          assert.ok(
            refusals.length < forms.length,
            `endpointd ${command} --help lists --${flag}, which it refuses: ${refusals.join('; ')}`,
          );
          checked += 1;
        }
      }
      assert.ok(checked > 30, `only ${checked} options found in the help texts`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
