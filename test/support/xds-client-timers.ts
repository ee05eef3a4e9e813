// Lets a test process that used grpc-js-xds exit. grpc-js-xds 1.14.1's priority balancer, when an assignment loses
// its last usable endpoint, keeps the old priority for 15 minutes on a timer that it neither unrefs nor clears when
// the channel closes (load-balancer-priority.js, deactivate()); node:test would then wait 15 minutes for the file.
// Importing this module unrefs such long timers; nothing of endpointd is affected (it sets no timer that long).
const LONG_MS = 10 * 60_000;
const original = globalThis.setTimeout;

function unrefLong(...args: Parameters<typeof setTimeout>): ReturnType<typeof setTimeout> {
  const timer = original(...args);
  if ((args[1] ?? 0) >= LONG_MS) timer.unref();
  return timer;
}

globalThis.setTimeout = Object.assign<typeof unrefLong, typeof setTimeout>(unrefLong, original);
