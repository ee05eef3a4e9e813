// Lets a test process that used grpc-js-xds exit once its channels are closed. @grpc/grpc-js-xds 1.14.1 leaves
// timers running after channel.close() that nothing of its API can stop; each is unreffed here, and only it,
// recognised by the library function that created it (a frame of the stack taken when the timer is set). By
// grpc-js's own rule (grpc/grpc-node#1688, #2586) the library holds the process open only while a call of the
// user's channel is pending, and that channel's own call-ref timer still does that, so no pending call is cut short.
// Nothing of endpointd is affected: only timers created from inside grpc-js-xds are matched.

/** A library timer that outlives channel.close(): its delay, and the function of grpc-js-xds that sets it. */
interface LeakedTimer {
  readonly delayMs: number;
  /** `Class.method` as V8 names the frame (the end of its name), in build/src/`file` of @grpc/grpc-js-xds. */
  readonly setBy: readonly string[];
  readonly file: string;
  /** grpc-js refs this timer again each time a call queues (interval timers only): keep it unreffed. */
  readonly keepUnreffed: boolean;
}

const LEAKED: readonly LeakedTimer[] = [
  // The call-ref timer of the channel each XdsClient opens to the xDS server (grpc-js internal-channel.js,
  // callRefTimerRef: setInterval(noop, 2^31 − 1), reffed while a call waits). When the last resource watch goes,
  // XdsSingleServerClient.unsubscribe() half-closes its ADS call (end(), not cancel()) and nothing ever closes that
  // channel. The call is waitForReady (grpc/grpc-node#2279): if it had not connected yet — a channel closed while
  // its name resolution is pending — and the xDS server is then stopped, it waits in the pick queue for ever,
  // and this timer keeps the process alive for ever: the hang of xds-interop after a DEADLINE_EXCEEDED.
  {
    delayMs: 2_147_483_647,
    setBy: ['XdsSingleServerClient.maybeStartAdsStream', 'XdsSingleServerClient.maybeStartLrsStream'],
    file: 'xds-client.js',
    keepUnreffed: true,
  },
  // The 15 s resource-does-not-exist timer (ResourceTimer.maybeStartTimer): AdsCallState.unsubscribe() drops it
  // without clearing it, so a channel closed while a resource is still awaited holds the process 15 s more.
  { delayMs: 15_000, setBy: ['ResourceTimer.maybeStartTimer'], file: 'xds-client.js', keepUnreffed: false },
  // The priority balancer's 10 s failover timer (startFailoverTimer): destroy() does not cancel it.
  {
    delayMs: 10_000,
    setBy: ['PriorityChildImpl.startFailoverTimer'],
    file: 'load-balancer-priority.js',
    keepUnreffed: false,
  },
  // The 15 min retention of a child no longer in use (deactivate()), cleared by neither destroy().
  {
    delayMs: 15 * 60_000,
    setBy: ['PriorityChildImpl.deactivate'],
    file: 'load-balancer-priority.js',
    keepUnreffed: false,
  },
  {
    delayMs: 15 * 60_000,
    setBy: ['WeightedChildImpl.deactivate'],
    file: 'load-balancer-weighted-target.js',
    keepUnreffed: false,
  },
];

const LIBRARY_DIR = '/@grpc/grpc-js-xds/build/src/';
const DELAYS = new Set(LEAKED.map((t) => t.delayMs));

/** The entry of LEAKED that the current stack sets, if any (the stack is taken only for the delays listed). */
function leakedTimer(delayMs: number): LeakedTimer | undefined {
  if (!DELAYS.has(delayMs)) return undefined;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  const frames = (new Error().stack ?? '').split('\n');
  Error.stackTraceLimit = limit;
  return LEAKED.find(
    (t) =>
      t.delayMs === delayMs &&
      frames.some(
        (frame) =>
          frame.includes(`${LIBRARY_DIR}${t.file}:`) && t.setBy.some((fn) => frame.includes(`${fn} (`)),
      ),
  );
}

function release(timer: NodeJS.Timeout, leaked: LeakedTimer): void {
  timer.unref();
  if (leaked.keepUnreffed) timer.ref = () => timer;
}

const originalTimeout = globalThis.setTimeout;
const originalInterval = globalThis.setInterval;

function setTimeoutReleasingLeaks(...args: Parameters<typeof setTimeout>): ReturnType<typeof setTimeout> {
  const timer = originalTimeout(...args);
  const leaked = leakedTimer(args[1] ?? 0);
  if (leaked !== undefined) release(timer, leaked);
  return timer;
}

function setIntervalReleasingLeaks(...args: Parameters<typeof setInterval>): ReturnType<typeof setInterval> {
  const timer = originalInterval(...args);
  const leaked = leakedTimer(args[1] ?? 0);
  if (leaked !== undefined) release(timer, leaked);
  return timer;
}

globalThis.setTimeout = Object.assign<typeof setTimeoutReleasingLeaks, typeof setTimeout>(
  setTimeoutReleasingLeaks,
  originalTimeout,
);
globalThis.setInterval = Object.assign<typeof setIntervalReleasingLeaks, typeof setInterval>(
  setIntervalReleasingLeaks,
  originalInterval,
);
