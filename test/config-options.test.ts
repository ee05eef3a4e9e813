// One declaration per option: its flag and its variable read alike, its default obeys its own bounds, and its
// value lands where the Config says — the Kubernetes source's settings on the source's own entry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultConfig,
  defaultKubernetesSource,
  parseCommandLine,
  type Config,
} from '../src/config/index.ts';
import { option, optionsOf } from '../src/config/option.ts';
import { OPTION_SECTIONS } from '../src/config/options/index.ts';
import { port } from '../src/config/values.ts';

const OPTIONS = OPTION_SECTIONS.flatMap((section) => optionsOf(section.options));

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const parsed = parseCommandLine(argv, env);
  assert.equal(parsed.kind, 'run', parsed.kind === 'invalid' ? parsed.problems.join('\n') : parsed.kind);
  return parsed.kind === 'run' ? parsed.config : defaultConfig();
}

describe('option declarations', () => {
  it('give every option with a default the same Config from its flag, its variable or nothing at all', () => {
    const defaults = defaultConfig();
    for (const o of OPTIONS.filter((x) => x.default !== undefined)) {
      assert.deepEqual(run([`--${o.flag}=${o.default}`]), defaults, `--${o.flag}=${o.default}`);
      assert.deepEqual(run([], { [o.env]: o.default }), defaults, `${o.env}=${o.default}`);
    }
  });

  // The true/false flags read as switches, as users write them (`--auth-token-review`); they used to need a value,
  // and `--auth-token-review --http-port 0` was refused as ambiguous. Whatever follows them keeps its meaning.
  it('read every true/false flag given alone as true, and a following true or false as its value', () => {
    const switches = OPTIONS.filter((o) => o.valueName === 'BOOL');
    assert.ok(switches.length >= 5);
    const defaults = defaultConfig();
    for (const o of switches) {
      assert.equal(o.bare, 'true', `--${o.flag} is a true/false flag: given alone it means true`);
      const alone = run([`--${o.flag}`, '--http-port', '0']);
      assert.deepEqual(alone, run([`--${o.flag}=true`, '--http-port=0']), `--${o.flag} alone`);
      assert.equal(alone.httpPort, 0, `the flag after --${o.flag} is still read`);
      assert.deepEqual(run([`--${o.flag}`]), run([`--${o.flag}=true`]), `--${o.flag} last`);
      for (const value of ['false', 'FALSE', 'true', 'True']) {
        assert.deepEqual(
          run([`--${o.flag}`, value]),
          run([`--${o.flag}=${value.toLowerCase()}`]),
          `--${o.flag} ${value}`,
        );
      }
      assert.deepEqual(run([`--${o.flag}`, o.default ?? '']), defaults);
    }
    for (const o of OPTIONS.filter((x) => x.valueName !== 'BOOL')) assert.equal(o.bare, undefined, o.flag);
  });

  it('refuse the same file source given twice, however its path is spelled, from the flags or the variable', () => {
    for (const [argv, env] of [
      [['--source=file:/etc/static', '--source=file:/etc/static/'], {}],
      [['--source=file:/etc/static', '--source=file:/etc/../etc/static'], {}],
      [[], { ENDPOINTD_SOURCE: 'file:/etc/static,kubernetes,file:/etc/static' }],
    ] as const) {
      const parsed = parseCommandLine([...argv], env);
      assert.equal(parsed.kind, 'invalid', JSON.stringify({ argv, env }));
      assert.match(
        parsed.kind === 'invalid' ? parsed.problems.join('\n') : '',
        /--source .*must name each path once/,
      );
    }
    assert.equal(run(['--source=file:/etc/static', '--source=file:/etc/static-2']).sources.length, 2);
  });

  it('refuse a default outside the option’s own bounds when the module loads', () => {
    assert.throws(
      () => option({ flag: 'some-port', value: 'PORT', default: '70000', parse: port(), help: '' }),
      /--some-port: bad default "70000"/,
    );
  });

  it('name the flag and the variable of any refused value, from either', () => {
    for (const o of OPTIONS.filter((x) => x.default !== undefined && x.flag !== 'bind')) {
      const bad = 'x!';
      for (const [argv, env] of [
        [[`--${o.flag}=${bad}`], {}],
        [[], { [o.env]: bad }],
      ] as const) {
        const parsed = parseCommandLine([...argv], env);
        assert.equal(parsed.kind, 'invalid', o.flag);
        const problems = parsed.kind === 'invalid' ? parsed.problems : [];
        assert.ok(
          problems.some((p) => p.startsWith(`--${o.flag} (${o.env}): `) && p.endsWith(`got "${bad}"`)),
          `${o.flag}: ${problems.join('; ')}`,
        );
      }
    }
  });

  it('put the Kubernetes settings on the Kubernetes source’s entry, and the file bound on each file source', () => {
    const config = run(
      [
        '--source=kubernetes',
        '--source=file:/etc/static',
        '--namespace=shop,billing',
        '--kube-resource=endpoints',
        '--label-selector=tier in (web)',
        '--kube-watch-idle-timeout=2m',
        '--kube-max-response-size=8MiB',
        '--context=prod',
        '--file-max-size=1MiB',
      ],
      { ENDPOINTD_KUBECONFIG: '/etc/kube/config' },
    );
    assert.deepEqual(config.sources, [
      {
        kind: 'kubernetes',
        kubeconfig: '/etc/kube/config',
        context: 'prod',
        namespaces: ['shop', 'billing'],
        resource: 'endpoints',
        labelSelector: 'tier in (web)',
        watchIdleTimeoutMs: 120_000,
        maxResponseBytes: 8 * 1024 * 1024,
      },
      { kind: 'file', path: '/etc/static', maxFileBytes: 1024 ** 2 },
    ]);
    // TokenReview asks the same API server, whether or not a Kubernetes source is configured.
    assert.deepEqual(run(['--context=prod']).tokenReviewApi, { kubeconfig: undefined, context: 'prod' });
    assert.deepEqual(run(['--source=kubernetes']).sources, [defaultKubernetesSource()]);
  });

  it('parse the expose selector once, into the matcher the exposure policy uses', () => {
    const { selector } = run(['--expose-selector', 'expose=true,tier notin (db)']).exposure;
    assert.equal(selector?.matches({ expose: 'true', tier: 'web' }), true);
    assert.equal(selector?.matches({ expose: 'true', tier: 'db' }), false);
    assert.equal(selector?.matches({}), false);
  });
});
