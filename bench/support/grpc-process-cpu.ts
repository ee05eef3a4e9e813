// CPU time of another process, all its threads, in nanoseconds: how much of the machine one fan-out change cost
// the server and the clients, for endpointd and etcd alike. Linux's per-thread schedstat (`/proc/PID/task/*/
// schedstat`, first field: ns on a CPU) is read rather than /proc/PID/stat's 10 ms ticks, which are too coarse
// for a change that costs a few milliseconds; Go's threads (etcd) and Node's (V8's GC helpers, libuv) all count.
import { readdir, readFile } from 'node:fs/promises';

/** The process's CPU time so far in ns, or undefined where /proc does not say (not Linux, process gone). */
export async function processCpuNs(pid: number): Promise<number | undefined> {
  return (await schedstat(pid))?.cpu;
}

/** A process's CPU time and run-queue wait so far (ns, all threads), from /proc/PID/task/*\/schedstat. */
export async function schedstat(
  pid: number,
): Promise<{ cpu: number; wait: number; mainCpu: number; mainWait: number } | undefined> {
  let tasks: string[];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let cpu = 0;
  let wait = 0;
  let mainCpu = 0;
  let mainWait = 0;
  for (const task of tasks) {
    try {
      const [run, delay] = (await readFile(`/proc/${pid}/task/${task}/schedstat`, 'utf8')).split(' ');
      cpu += Number(run);
      wait += Number(delay);
      // The main thread's task id is the process's: the event loop (Node), or Go's first thread.
      if (task === String(pid)) {
        mainCpu = Number(run);
        mainWait = Number(delay);
      }
    } catch {
      // a thread that ended meanwhile
    }
  }
  return { cpu, wait, mainCpu, mainWait };
}

/** CPU time of several processes between two moments: start(), then stop() gives ms per process. */
export class CpuWindow {
  readonly #pids: readonly number[];
  #start: Array<number | undefined> = [];

  constructor(pids: readonly number[]) {
    this.#pids = pids;
  }

  async start(): Promise<void> {
    this.#start = await Promise.all(this.#pids.map(processCpuNs));
  }

  /** Milliseconds of CPU since start(), per pid in the constructor's order (NaN where unknown). */
  async stop(): Promise<number[]> {
    const end = await Promise.all(this.#pids.map(processCpuNs));
    return end.map((ns, i) => {
      const before = this.#start[i];
      return ns === undefined || before === undefined ? Number.NaN : (ns - before) / 1e6;
    });
  }
}
