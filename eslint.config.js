// Lint rules: typescript-eslint's type-aware recommended set, and the layer boundaries; formatting is prettier's job.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

// Data flows one way (docs/development.md): sources → store → doors, wired only by src/main.ts; and one source never
// reaches into another. Each entry forbids a folder some relative imports; both sides may import src/model.ts,
// src/kube/, src/views/ and the store's faces (src/store/faces.ts).
// A later entry replaces an earlier one's rules for the files both match. test/eslint-boundaries.test.ts proves that
// each bites.
const STORE_FACES = 'src/store/faces.ts: StoreWriter for sources, StoreReader for doors';
/** One folder of src/sources/ per source. */
const SOURCES = ['file', 'kubernetes'];
const SOURCE_FORBIDDEN = [
  {
    regex: String.raw`^\.{1,2}/(.*/)?api/`,
    message: 'a source never imports a front door: it writes to the store and does not know who listens',
  },
  {
    regex: String.raw`^\.{1,2}/(.*/)?store/(?!faces\.ts$)`,
    message: "a source writes through the store's writer face only (" + STORE_FACES + ')',
  },
];

/** Refuses imports of the folders of `sources` (from src/sources/ or below it). */
function anySourceOf(sources, who) {
  return {
    regex: String.raw`^(\.\.?/)+(sources/)?(${sources.join('|')})/`,
    message: `${who} may not reach into another source: what sources share lives in src/kube/ or src/sources/*.ts`,
  };
}

const BOUNDARIES = [
  {
    // The front doors, and the security gates in front of them.
    files: ['src/api/**/*.ts', 'src/security/**/*.ts'],
    forbidden: [
      {
        regex: String.raw`^\.{1,2}/(.*/)?sources/`,
        message: 'a front door never imports a source: read the store instead (' + STORE_FACES + ')',
      },
      {
        regex: String.raw`^\.{1,2}/(.*/)?store/endpoint-store\.ts$`,
        message: "doors type against the store's reader face, not its implementation (" + STORE_FACES + ')',
      },
    ],
  },
  {
    // Any folder of src/sources/ not named in SOURCES below.
    files: ['src/sources/**/*.ts'],
    forbidden: SOURCE_FORBIDDEN,
  },
  {
    // What the sources share (publish, the ServiceAssembler, the Source interface) depends on no one source.
    files: ['src/sources/*.ts'],
    forbidden: [...SOURCE_FORBIDDEN, anySourceOf(SOURCES, 'the modules every source shares')],
  },
  ...SOURCES.map((name) => ({
    files: [`src/sources/${name}/**/*.ts`],
    forbidden: [
      ...SOURCE_FORBIDDEN,
      anySourceOf(
        SOURCES.filter((other) => other !== name),
        `the ${name} source`,
      ),
    ],
  })),
];

/** The same boundaries for static imports and re-exports (no-restricted-imports) and for import() calls. */
function boundaryRules({ forbidden }) {
  return {
    'no-restricted-imports': [
      'error',
      { patterns: forbidden.map(({ regex, message }) => ({ regex, message })) },
    ],
    // no-restricted-imports does not look at dynamic import(); esquery regexes end at a '/', hence \x2F.
    'no-restricted-syntax': [
      'error',
      ...forbidden.map(({ regex, message }) => ({
        selector: `ImportExpression[source.value=/${regex.replaceAll('/', String.raw`\x2F`)}/]`,
        message,
      })),
    ],
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/report.json', 'reports/', '.stryker-tmp/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // node:test's describe/it return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  ...BOUNDARIES.map((boundary) => ({ files: boundary.files, rules: boundaryRules(boundary) })),
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    // Plain scripts (the examples) run on Node: its globals are defined.
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { console: 'readonly', process: 'readonly', URL: 'readonly' },
    },
  },
  {
    // The launcher (bin/endpointd.cjs) is CommonJS, in syntax every Node can read.
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: Object.fromEntries(
        ['require', '__dirname', '__filename', 'process'].map((name) => [name, 'readonly']),
      ),
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The dashboard runs in browsers, not on Node.
    files: ['src/api/ui/static/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'AbortController',
          'URLSearchParams',
          'TextDecoderStream',
          'document',
          'window',
          'location',
          'fetch',
          'sessionStorage',
          'requestAnimationFrame',
          'setTimeout',
          'clearTimeout',
          'console',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
