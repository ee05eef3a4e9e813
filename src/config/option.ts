// What one option is: its flag, its environment variable, its value's parser (with its bounds), its default and
// its help line. Options are grouped in trees shaped like the Config sections they land in (src/config/options/),
// so an option's place in its tree is where its value lands; readOptions() turns a tree into the value tree.
import { bool, type ValueParser } from './values.ts';

/** What the command line and the environment hold for one option. */
export interface RawInput {
  /** The flag's text, or every text of a repeated (list) flag; undefined: not given. */
  readonly flag: string | readonly string[] | undefined;
  /** The variable's text; undefined or empty: not set. */
  readonly env: string | undefined;
}

/** One bad value: the text as given and what was expected (the message names the flag and the variable). */
export interface ValueProblem {
  readonly value: string;
  readonly expected: string;
}

interface OptionSpec<T> {
  /** The flag without its dashes; the variable is ENDPOINTD_ and the flag in upper snake case. */
  readonly flag: string;
  /** How --help names the value, e.g. DURATION. */
  readonly value: string;
  readonly help: string;
  readonly parse: ValueParser<T>;
  /** What the flag given alone (no value) means; undefined: the flag needs a value. */
  readonly bare?: string;
}

/**
 * An option whose value has the type T. `default` is the text a user would write (shown as is in --help and the
 * docs), parsed by the option's own parser when the module loads, so a default out of its bounds cannot ship.
 */
export class Option<T> {
  readonly flag: string;
  readonly env: string;
  readonly valueName: string;
  readonly help: string;
  /** The default as text; undefined: the option is unset by default (then `unset` says what that means). */
  readonly default: string | undefined;
  readonly unset: string | undefined;
  /** What the flag given alone means (a switch: `true`); undefined: the flag needs a value. */
  readonly bare: string | undefined;
  /**
   * Repeatable; the variable takes a list separated by `separator` (a comma unless the values hold commas).
   * `splitFlags`: each flag's text is split too.
   */
  readonly list: false | { readonly splitFlags: boolean; readonly separator: string };
  /** The value without any flag or variable: the parsed default (or undefined / [] when there is none). */
  readonly defaultValue: T;
  readonly #read: (input: RawInput) => { value: T; problems: ValueProblem[] };

  constructor(
    spec: Omit<OptionSpec<T>, 'parse'> & {
      default: string | undefined;
      unset: string | undefined;
      list: Option<T>['list'];
      read: (input: RawInput, option: Option<T>) => { value: T; problems: ValueProblem[] };
    },
  ) {
    this.flag = spec.flag;
    this.env = `ENDPOINTD_${spec.flag.toUpperCase().replaceAll('-', '_')}`;
    this.valueName = spec.value;
    this.help = spec.help;
    this.default = spec.default;
    this.unset = spec.unset;
    this.bare = spec.bare;
    this.list = spec.list;
    this.#read = (input) => spec.read(input, this);
    const { value, problems } = this.read({ flag: undefined, env: undefined });
    if (problems.length > 0) throw new Error(`--${this.flag}: bad default ${JSON.stringify(this.default)}`);
    this.defaultValue = value;
  }

  /** The value from the flag, else the variable, else the default; with what was wrong with the text. */
  read(input: RawInput): { value: T; problems: ValueProblem[] } {
    return this.#read(input);
  }
}

/** The text that applies: the flag's, else the variable's (an empty variable counts as unset), else undefined. */
function givenText(input: RawInput): string | undefined {
  if (typeof input.flag === 'string') return input.flag;
  return input.env === undefined || input.env === '' ? undefined : input.env;
}

function parseText<T>(parse: ValueParser<T>, text: string): { value: T; problems: ValueProblem[] } {
  const result = parse.safeParse(text);
  if (result.success) return { value: result.data, problems: [] };
  const expected = result.error.issues[0]?.message ?? 'is not valid';
  return { value: undefined as T, problems: [{ value: text, expected }] };
}

/** An option with a default. */
export function option<T>(spec: OptionSpec<T> & { readonly default: string }): Option<T> {
  return new Option<T>({
    ...spec,
    unset: undefined,
    list: false,
    read: (input, self) => parseText(spec.parse, givenText(input) ?? self.default ?? ''),
  });
}

/** A true/false option whose flag alone means true (`--flag=false` or `--flag false` turns it off). */
export function switchOption(spec: {
  readonly flag: string;
  readonly default: 'true' | 'false';
  readonly help: string;
}): Option<boolean> {
  return option({ ...spec, value: 'BOOL', parse: bool(), bare: 'true' });
}

/** An option without a default: its value is undefined unless given; `unset` says what that means (for --help). */
export function optional<T>(spec: OptionSpec<T> & { readonly unset?: string }): Option<T | undefined> {
  return new Option<T | undefined>({
    ...spec,
    default: undefined,
    unset: spec.unset,
    list: false,
    read: (input) => {
      const text = givenText(input);
      return text === undefined ? { value: undefined, problems: [] } : parseText(spec.parse, text);
    },
  });
}

/**
 * A repeatable option: the flag given several times and/or comma-separated (unless `splitFlags` is false: a path
 * is taken whole), else its variable comma-separated; blanks are dropped. Each element is parsed on its own.
 */
export function list<T>(
  spec: OptionSpec<T> & {
    readonly unset: string;
    readonly splitFlags?: boolean;
    /** Between the values of the variable (and of a flag's text, with splitFlags); default a comma. */
    readonly separator?: string;
  },
): Option<T[]> {
  const splitFlags = spec.splitFlags !== false;
  const separator = spec.separator ?? ',';
  return new Option<T[]>({
    ...spec,
    default: undefined,
    unset: spec.unset,
    list: { splitFlags, separator },
    read: (input) => {
      const texts = Array.isArray(input.flag)
        ? input.flag.flatMap((text: string) => (splitFlags ? text.split(separator) : [text]))
        : (input.env ?? '').split(separator);
      const values: T[] = [];
      const problems: ValueProblem[] = [];
      for (const text of texts.map((s) => s.trim()).filter((s) => s !== '')) {
        const parsed = parseText(spec.parse, text);
        values.push(parsed.value);
        problems.push(...parsed.problems);
      }
      return { value: values, problems };
    },
  });
}

/** A tree of options, shaped like the part of the Config its values land in. */
export interface OptionTree {
  readonly [key: string]: Option<unknown> | OptionTree;
}

/** The values of an option tree: each option replaced by its value's type. */
export type Values<Tree> = Tree extends Option<infer T> ? T : { readonly [K in keyof Tree]: Values<Tree[K]> };

/** Every option of a tree, in declaration order. */
export function optionsOf(tree: OptionTree): Option<unknown>[] {
  return Object.values(tree).flatMap((node) => (node instanceof Option ? [node] : optionsOf(node)));
}

/**
 * The value tree of `tree`, each value read through `read` (which records any problems). Where a value was
 * refused its place holds undefined: the caller reports the problems instead of using the tree.
 */
export function readOptions<Tree extends OptionTree>(
  tree: Tree,
  read: (option: Option<unknown>) => unknown,
): Values<Tree> {
  const values: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(tree)) {
    values[key] = node instanceof Option ? read(node) : readOptions(node, read);
  }
  return values as Values<Tree>;
}

/** The defaults of a tree: what it holds when no flag or variable is given. */
export function defaultsOf<Tree extends OptionTree>(tree: Tree): Values<Tree> {
  return readOptions(tree, (option) => option.defaultValue);
}
