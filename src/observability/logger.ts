// Structured JSON logs (pino) on stdout: one object a line, fields not sentences, so that log pipelines can query them.
// Each line is a JSON object with unique keys: pino writes a logger's bindings (`app`, a child's `source`, ...) and
// each call's fields side by side without merging them, so a call field that repeats a binding would make the line
// carry the key twice — which most JSON parsers resolve by silently dropping one value. (Child bindings are not
// checked against their parent's: give a child only keys its parent does not bind.)
import { pino, type Bindings, type Logger, type LevelWithSilent } from 'pino';

export const LOG_LEVELS: readonly LevelWithSilent[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

/**
 * The binding every line carries, naming the program. Not `service`: that word is the domain's (a Kubernetes
 * Service, `namespace/name`), and call sites log it.
 */
export const APP_BINDING = { app: 'endpointd' } as const;

/** Keys pino writes itself on every line. */
const PINO_KEYS = ['level', 'time', 'msg'] as const;

/** When a call's field would repeat a key already on the line, it is kept under this prefix instead. */
export const CLASHING_FIELD_PREFIX = 'call.';

export function createLogger(level: LevelWithSilent, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: APP_BINDING,
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError },
      hooks: {
        logMethod(args, method) {
          const fields = args[0];
          if (typeof fields === 'object' && fields !== null && !(fields instanceof Error)) {
            const renamed = withoutClashes(fields as Record<string, unknown>, boundKeys(this));
            if (renamed !== fields) args[0] = renamed;
          }
          method.apply(this, args);
        },
      },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * pino's error serializer, with each cause's message appended only when the message does not already carry it:
 * errors here are wrapped as `new Error(\`--flag FILE: ${cause.message}\`, { cause })`, and pino's own appends
 * every cause again (`--kubeconfig F: no such file: --kubeconfig F: no such file`). The stack keeps every cause.
 */
function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error);
  if (!(error instanceof Error) || typeof error.message !== 'string') return serialized;
  let message = error.message;
  const seen = new Set<unknown>([error]);
  // Error-like causes too (another realm's errors, a library's { name, message }), as pino walks them.
  for (let cause = causeOf(error); cause !== undefined && !seen.has(cause); cause = causeOf(cause)) {
    seen.add(cause);
    const text = (cause as { message?: unknown }).message;
    if (typeof text !== 'string') return serialized; // pino's own rendering of what this one cannot read
    if (!message.includes(text)) message += `: ${text}`;
  }
  return { ...serialized, message };
}

function causeOf(error: object): object | undefined {
  const cause: unknown = (error as { cause?: unknown }).cause;
  return typeof cause === 'object' && cause !== null ? cause : undefined;
}

/** A logger's bindings never change after it is made (no setBindings here): their keys are computed once. */
const boundKeyCache = new WeakMap<Logger, ReadonlySet<string>>();

function boundKeys(logger: Logger): ReadonlySet<string> {
  let keys = boundKeyCache.get(logger);
  if (keys === undefined) {
    const bindings: Bindings = logger.bindings();
    keys = new Set([...Object.keys(bindings), ...PINO_KEYS]);
    boundKeyCache.set(logger, keys);
  }
  return keys;
}

/** `fields` itself when no key clashes (the common case: no copy); otherwise a copy with clashing keys prefixed. */
function withoutClashes(
  fields: Record<string, unknown>,
  taken: ReadonlySet<string>,
): Record<string, unknown> {
  if (!Object.keys(fields).some((key) => taken.has(key))) return fields;
  const renamed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    let name = key;
    while (taken.has(name) || name in renamed) name = `${CLASHING_FIELD_PREFIX}${name}`;
    renamed[name] = value;
  }
  return renamed;
}
