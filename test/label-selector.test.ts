// Label selectors, checked against cases taken from apimachinery's own tests (pkg/labels/selector_test.go:
// TestSelectorParse, TestSelectorMatches, TestSetSelectorParser, TestLexer/TestParserLookahead) — run through both
// endpointd's parser (src/policy/label-selector.ts, which picks the Services endpointd exposes) and the fake API
// server's independent one (test/support/fake-apiserver/label-selector.ts), so that neither can be wrong alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelSelectorError, parseLabelSelector } from '../src/policy/label-selector.ts';
import { compileLabelSelector, LabelSyntaxError } from './support/fake-apiserver/label-selector.ts';

type Labels = Record<string, string>;

const PARSERS: Record<
  string,
  { parse: (input: string) => (labels: Labels) => boolean; error: new (message: string) => Error }
> = {
  endpointd: {
    parse: (input) => {
      const selector = parseLabelSelector(input);
      return (labels) => selector.matches(labels);
    },
    error: LabelSelectorError,
  },
  'fake API server': { parse: compileLabelSelector, error: LabelSyntaxError },
};

/** [selector, labels, matches]: from TestSelectorMatches, and the label sets of TestSetSelectorParser's cases. */
const MATCHES: [string, Labels, boolean][] = [
  ['', { x: 'y' }, true],
  ['x=y', { x: 'y' }, true],
  ['x=y,z=w', { x: 'y', z: 'w' }, true],
  ['x!=y,z!=w', { x: 'z', z: 'a' }, true],
  ['notin=in', { notin: 'in' }, true], // in and notin are keywords only where an operator may stand
  ['x', { x: 'z' }, true],
  ['!x', { y: 'z' }, true],
  ['x>1', { x: '2' }, true],
  ['x<1', { x: '0' }, true],
  ['x=z', {}, false],
  ['x=y', { x: 'z' }, false],
  ['x=y,z=w', { x: 'w', z: 'w' }, false],
  ['x!=y,z!=w', { x: 'z', z: 'w' }, false],
  ['x', { y: 'z' }, false],
  ['!x', { x: 'z' }, false],
  ['x>1', { x: '0' }, false],
  ['x<1', { x: '2' }, false],
  ['x>1', {}, false],
  ['x>1', { x: 'two' }, false],
  ['foo=bar', { foo: 'bar', baz: 'blah' }, true],
  ['baz=blah', { foo: 'bar', baz: 'blah' }, true],
  ['foo=bar,baz=blah', { foo: 'bar', baz: 'blah' }, true],
  ['foo=blah', { foo: 'bar', baz: 'blah' }, false],
  ['baz=bar', { foo: 'bar', baz: 'blah' }, false],
  ['foo=bar,foobar=bar,baz=blah', { foo: 'bar', baz: 'blah' }, false],
  ['x=', { x: '' }, true],
  ['x= ', { x: '' }, true],
  ['x=,z= ', { x: '', z: '' }, true],
  ['x=', { x: 'a' }, false],
  ['x==a', { x: 'a' }, true],
  ['x!=a', {}, true],
  ['\rx', { x: 'a' }, true],
  ['this-is-a-dns.domain.com/key-with-dash', { 'this-is-a-dns.domain.com/key-with-dash': 'v' }, true],
  [
    'this-is-another-dns.domain.com/key-with-dash in (so,what)',
    { 'this-is-another-dns.domain.com/key-with-dash': 'so' },
    true,
  ],
  ['0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)', { '0.1.2.domain/99': 'tick.tack.clock' }, false],
  ['0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)', { '0.1.2.domain/99': 'other' }, true],
  ['0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)', {}, true],
  ['foo  in\t (abc)', { foo: 'abc' }, true],
  ['x notin\n (abc)', { x: 'abc' }, false],
  ['x  notin\t\t(abc,def)', { x: 'def' }, false],
  ['x in (abc,def)', { x: 'def' }, true],
  ['x in (abc,def)', { x: 'ghi' }, false],
  ['x in (abc,def)', {}, false],
  ['x in (abc,)', { x: '' }, true],
  ['x in ()', { x: '' }, true],
  ['x in ()', { x: 'a' }, false],
  ['x notin (abc,,def),bar,z in (),w', { x: 'q', bar: '1', z: '', w: '2' }, true],
  ['x notin (abc,,def),bar,z in (),w', { x: '', bar: '1', z: '', w: '2' }, false],
  ['x notin (abc,,def),bar,z in (),w', { x: 'q', bar: '1', z: '' }, false],
  ['x,y in (a)', { x: '1', y: 'a' }, true],
  ['x,y in (a)', { y: 'a' }, false],
  ['x=a,y!=b', { x: 'a', y: 'c' }, true],
  ['x=a,y!=b', { x: 'a', y: 'b' }, false],
  ['x=a,y!=b,z in (h,i,j)', { x: 'a', z: 'i' }, true],
  ['x=a,y!=b,z in (h,i,j)', { x: 'a', z: 'k' }, false],
  ['x notin ( )', { x: '' }, false],
  ['x notin ( )', { x: 'a' }, true],
  ['x notin (, a)', { x: 'a' }, false],
  ['a ', { a: '' }, true],
  ['a in (x,y,notin, z,in)', { a: 'in' }, true], // keywords inside a value list are values
  ['a in (x,y,notin, z,in)', { a: 'notin' }, true],
  ['a in (x,y,notin, z,in)', { a: 'w' }, false],
  // The length limits, at the limit (apimachinery's validation: a name part of 63, a prefix of 253, a value of 63).
  [`${'k'.repeat(63)}`, { ['k'.repeat(63)]: '' }, true],
  [`x=${'v'.repeat(63)}`, { x: 'v'.repeat(63) }, true],
  [`${'p'.repeat(253)}/k`, { [`${'p'.repeat(253)}/k`]: 'v' }, true],
  ['x>-1', { x: '0' }, true],
  ['x<-1', { x: '-2' }, true],
  ['x>1', { x: '1' }, false],
  ['x<1', { x: '1' }, false],
];

/** Selectors apimachinery refuses (TestSelectorParse's bad strings, TestSetSelectorParser's invalid cases). */
const INVALID = [
  'x=a||y=b',
  'x==a==b',
  '!x=a',
  'x<a',
  'x>1.5',
  'x,,y',
  ',x,y',
  'x nott in (y)',
  'a in (xyz),',
  'a in (xyz)b notin ()',
  'a in (xyz abc)',
  'a notin(',
  'a (',
  '(',
  'x in',
  'x in abc',
  '-bad-key',
  'bad-key-/x',
  'a/b/c',
  'x=-bad-value',
  `x=${'a'.repeat(64)}`,
  `${'k'.repeat(64)}=v`,
  `${'p'.repeat(254)}/k`,
  'Upper.Case/k',
  '/k',
];

describe('label selectors, as apimachinery parses and matches them', () => {
  for (const [parser, { parse, error }] of Object.entries(PARSERS)) {
    it(`${parser}: matches as apimachinery's cases say`, () => {
      for (const [selector, labels, expected] of MATCHES) {
        assert.equal(
          parse(selector)(labels),
          expected,
          `${JSON.stringify(selector)} on ${JSON.stringify(labels)}`,
        );
      }
    });

    it(`${parser}: refuses what apimachinery refuses`, () => {
      for (const selector of INVALID) {
        assert.throws(() => parse(selector), error, JSON.stringify(selector));
      }
    });
  }

  it('endpointd: says where a selector went wrong, in apimachinery words', () => {
    const found = (input: string, what: string, expected: string): [string, string] => [
      input,
      `couldn't parse the selector string "${input}": found '${what}', expected: ${expected}`,
    ];
    const operators = "'=', '!=', '==', 'in', 'notin'";
    const cases: [string, string][] = [
      found('tier in (a', 'end of string', "',' or ')'"),
      found('!tier=x', '=', "',' or 'end of string'"),
      found('=x', '=', 'identifier'),
      found('x,', 'end of string', 'identifier'),
      found('x y', 'y', operators),
      found('a (', '(', operators),
      found('x in a', 'a', "'('"),
      found('x in (a b)', 'b', "',' or ')'"),
      found('x in (a,=)', '=', "identifier, ',' or ')'"),
      found('x>a', 'a', 'an integer'),
      found('x>', 'end of string', 'an integer'),
      found('x=(', '(', 'identifier'),
      found('x=a b', 'b', "',' or 'end of string'"),
      [
        '-bad',
        'unable to parse requirement: key: Invalid value: "-bad": name part must consist of alphanumeric ' +
          "characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      ],
      [
        'k=-v',
        'unable to parse requirement: values[0][k]: Invalid value: "-v": a valid label must be an empty string or ' +
          "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
      ],
    ];
    for (const [input, message] of cases) {
      assert.throws(() => parseLabelSelector(input), { name: 'Error', message }, input);
      assert.throws(() => parseLabelSelector(input), LabelSelectorError, input);
    }
  });

  it('endpointd: selects everything with an empty or blank selector', () => {
    for (const blank of ['', '  ', '\t']) assert.equal(parseLabelSelector(blank).matches({}), true);
  });
});
