// `--cluster NAME=KUBECONFIG[,context=CTX][,region=R]` (repeatable; ENDPOINTD_CLUSTER separated by `;`) and the
// settings of several clusters: each cluster is its own Kubernetes source entry with its own kubeconfig, context
// and name; bad names, duplicates, unknown settings and mixing with --source kubernetes are refused clearly; and
// `--source kubernetes` alone is exactly as before (no cluster on its entry).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultKubernetesSource,
  parseCommandLine,
  type Config,
  type KubernetesSourceConfig,
} from '../src/config/index.ts';

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const parsed = parseCommandLine(argv, env);
  assert.equal(parsed.kind, 'run', parsed.kind === 'invalid' ? parsed.problems.join('\n') : parsed.kind);
  if (parsed.kind !== 'run') throw new Error('unreachable');
  return parsed.config;
}

function problems(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  const parsed = parseCommandLine(argv, env);
  assert.equal(parsed.kind, 'invalid', `expected a refusal of ${argv.join(' ')}`);
  return parsed.kind === 'invalid' ? [...parsed.problems] : [];
}

const clusters = (config: Config): KubernetesSourceConfig[] =>
  config.sources.filter((s): s is KubernetesSourceConfig => s.kind === 'kubernetes');

describe('--cluster', () => {
  it('makes one Kubernetes source per cluster, each with its kubeconfig, context, region and the shared settings', () => {
    const config = run([
      '--cluster',
      'east=/k/east.yaml,context=prod-east,region=us-east-1',
      '--cluster=west=/k/west.yaml',
      '--namespace=shop',
      '--cluster-export=serviceexport',
      '--cluster-ready-timeout=10s',
    ]);
    assert.deepEqual(clusters(config), [
      {
        ...defaultKubernetesSource(),
        namespaces: ['shop'],
        kubeconfig: '/k/east.yaml',
        context: 'prod-east',
        cluster: {
          name: 'east',
          region: 'us-east-1',
          export: { mode: 'serviceexport' },
          readyTimeoutMs: 10_000,
          staleAfterMs: 5000,
        },
      },
      {
        ...defaultKubernetesSource(),
        namespaces: ['shop'],
        kubeconfig: '/k/west.yaml',
        context: undefined,
        cluster: {
          name: 'west',
          region: undefined,
          export: { mode: 'serviceexport' },
          readyTimeoutMs: 10_000,
          staleAfterMs: 5000,
        },
      },
    ]);
  });

  it('reads ENDPOINTD_CLUSTER as clusters separated by ";" (a cluster itself holds commas)', () => {
    const config = run([], { ENDPOINTD_CLUSTER: 'a=/k/a,region=eu; b=,context=ctx-b' });
    assert.deepEqual(
      clusters(config).map((s) => [s.cluster?.name, s.kubeconfig, s.context, s.cluster?.region]),
      [
        ['a', '/k/a', undefined, 'eu'],
        ['b', undefined, 'ctx-b', undefined],
      ],
    );
  });

  it('lets an empty KUBECONFIG fall back to --kubeconfig, and context= to --context', () => {
    const config = run(['--kubeconfig=/k/all', '--context=c0', '--cluster=a=,context=ca', '--cluster=b=']);
    assert.deepEqual(
      clusters(config).map((s) => [s.kubeconfig, s.context]),
      [
        ['/k/all', 'ca'],
        ['/k/all', 'c0'],
      ],
    );
  });

  it('takes the annotation export mode with its annotation', () => {
    const config = run([
      '--cluster=a=',
      '--cluster-export=annotation',
      '--cluster-export-annotation=mc/global=yes',
    ]);
    assert.deepEqual(clusters(config)[0]?.cluster?.export, {
      mode: 'annotation',
      key: 'mc/global',
      value: 'yes',
    });
  });

  it('refuses bad names, duplicates, unknown settings and bad regions, naming the flag, variable and value', () => {
    const cases: Array<[string, RegExp]> = [
      ['East=/k', /the cluster name "East" must be a DNS-1123 label/],
      ['a_b=/k', /the cluster name "a_b" must be a DNS-1123 label/],
      ['=/k', /the cluster name "" must be a DNS-1123 label/],
      ['east', /must be NAME=KUBECONFIG\[,context=CTX\]\[,region=R\]/],
      ['east=/k,zone=a', /"zone=a" is not a cluster setting/],
      ['east=/k,region=a,region=b', /region= is given twice/],
      ['east=/k,region=no spaces', /the region "no spaces" must be a label value/],
    ];
    for (const [value, expected] of cases) {
      const found = problems([`--cluster=${value}`]);
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0] ?? '', /^--cluster \(ENDPOINTD_CLUSTER\): /);
      assert.match(found[0] ?? '', expected, value);
    }
    assert.match(
      problems(['--cluster=a=/x', '--cluster=a=/y']).join(),
      /--cluster \(ENDPOINTD_CLUSTER\): names a cluster given before: each --cluster needs its own name, got "a"/,
    );
    assert.match(
      problems(['--source=kubernetes', '--cluster=a=/x']).join(),
      /--source \(ENDPOINTD_SOURCE\): cannot be given with --cluster: name every cluster with --cluster/,
    );
    assert.match(
      problems(['--cluster=a=', '--cluster-export=some']).join(),
      /must be all, annotation or serviceexport/,
    );
    assert.match(problems(['--cluster-ready-timeout=5']).join(), /a bare number is ambiguous/);
  });

  it('leaves --source kubernetes alone exactly as before: one unnamed source, no cluster', () => {
    const config = run(['--source=kubernetes']);
    assert.deepEqual(config.sources, [defaultKubernetesSource()]);
    assert.equal(clusters(config)[0]?.cluster, undefined);
  });

  it('adds file sources beside the clusters', () => {
    const config = run(['--source=file:/etc/static', '--cluster=a=/k/a']);
    assert.deepEqual(
      config.sources.map((s) => (s.kind === 'file' ? `file ${s.path}` : `cluster ${s.cluster?.name}`)),
      ['file /etc/static', 'cluster a'],
    );
  });
});
