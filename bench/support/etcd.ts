// etcd as a peer to measure against: finds the binary, starts a one-member cluster on 127.0.0.1 (free ports, a
// temporary data directory, no proxying), waits until it is healthy, and stops it (SIGTERM, then SIGKILL) and
// removes its data at the end. Never touches an etcd that was already running.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, type PeerAvailability } from './peers.ts';

export const ETCD_INSTALL_HINT = 'apt-get install etcd-server';
const READY_TIMEOUT_MS = 20_000;
/** The last lines of etcd's log, quoted when it fails to start. */
const LOG_TAIL_LINES = 20;

export interface EtcdPeer {
  readonly pid: number;
  /** host:port of the client URL, where etcd serves gRPC (and its HTTP gateway). */
  readonly target: string;
  readonly port: number;
  readonly version: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** etcd's binary (`BENCH_ETCD` overrides the lookup on PATH), or why it cannot be used. */
export async function findEtcd(): Promise<PeerAvailability> {
  return findExecutable('etcd', 'BENCH_ETCD', `etcd not installed: ${ETCD_INSTALL_HINT}`);
}

/**
 * Starts `binary` as a fresh single-member cluster. The data directory is on /dev/shm when there is one (tmpfs:
 * the WAL's fsync costs nothing, so the peer's writes are as fast as this machine allows) and is deleted by stop().
 */
export async function startEtcd(binary: string): Promise<EtcdPeer> {
  const dataDir = await mkdtemp(join((await isDirectory('/dev/shm')) ? '/dev/shm' : tmpdir(), 'bench-etcd-'));
  try {
    // Another process may take a port between our probe and etcd's bind: then etcd exits, and we try new ports.
    for (let attempt = 1; ; attempt++) {
      const [clientPort, peerPort] = await freePorts();
      try {
        return await launch(binary, dataDir, clientPort, peerPort);
      } catch (error) {
        if (attempt >= 3 || !(error instanceof PortTaken)) throw error;
        await rm(dataDir, { recursive: true, force: true });
      }
    }
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

class PortTaken extends Error {}

async function launch(
  binary: string,
  dataDir: string,
  clientPort: number,
  peerPort: number,
): Promise<EtcdPeer> {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    binary,
    [
      '--name=bench',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=bench=${peer}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-outputs=stderr',
      '--log-level=warn',
    ],
    // No inherited ETCD_* settings: the flags above are the whole configuration.
    { stdio: ['ignore', 'ignore', 'pipe'], env: withoutEtcdSettings(process.env) },
  );
  const exited = once(child, 'exit');
  const log: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    log.push(...chunk.split('\n').filter((line) => line.length > 0));
    log.splice(0, Math.max(0, log.length - LOG_TAIL_LINES));
  });
  const live = { child, dataDir };
  alive.add(live);
  void exited.then(() => alive.delete(live));
  guardExit();
  const stop = (): Promise<void> => stopChild(child, exited, dataDir);
  try {
    const version = await waitHealthy(child, client);
    return {
      pid: child.pid ?? -1,
      target: `127.0.0.1:${clientPort}`,
      port: clientPort,
      version,
      dataDir,
      stop,
    };
  } catch (error) {
    await stopChild(child, exited, undefined);
    const tail = log.join('\n');
    if (/address already in use/.test(tail)) throw new PortTaken(tail);
    throw new Error(`etcd did not become healthy: ${(error as Error).message}\n${tail}`, { cause: error });
  }
}

/**
 * etcd is not a Node child: it would outlive a harness that exits early (the watchdog's process.exit, a signal)
 * and keep its data on /dev/shm, in memory. Every live one is killed and deleted synchronously on the way out.
 */
const alive = new Set<{ readonly child: ChildProcess; readonly dataDir: string }>();
let guarded = false;

function guardExit(): void {
  if (guarded) return;
  guarded = true;
  const killAll = (): void => {
    for (const { child, dataDir } of alive) {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
    alive.clear();
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // The signal keeps its usual effect: once the etcds are gone, the process dies of it.
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

/** Polls /health and /version on the client URL until etcd answers healthy; returns its server version. */
async function waitHealthy(child: ChildProcess, client: string): Promise<string> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`etcd exited (code ${child.exitCode}, signal ${child.signalCode})`);
    try {
      const health = (await (await fetch(`${client}/health`)).json()) as { health?: string };
      if (health.health === 'true') {
        const version = (await (await fetch(`${client}/version`)).json()) as { etcdserver?: string };
        return version.etcdserver ?? 'unknown';
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not healthy within ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<unknown>,
  dataDir: string | undefined,
): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
}

/** Two distinct ports that were free on 127.0.0.1 a moment ago (bound to port 0, then released). */
async function freePorts(): Promise<[number, number]> {
  const servers = await Promise.all(
    Array.from({ length: 2 }, async () => {
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const [first, second] = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  if (first === undefined || second === undefined) throw new Error('no free ports');
  return [first, second];
}

function withoutEtcdSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('ETCD')));
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
