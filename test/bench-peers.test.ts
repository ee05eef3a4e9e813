// The benchmark's peers work as the bench uses them: a real etcd started on loopback answers our wire-compatible
// subset of its API (Put, serializable Range, Watch) and is gone with its data after stop(); h2load measures a real
// gRPC server and a run whose calls fail inside gRPC (HTTP 200, error in the trailers) is rejected, not counted;
// and a peer that is not installed becomes a skipped row with the reason, never a number.
import assert from 'node:assert/strict';
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ETCD_PUT_PATH,
  ETCD_RANGE_PATH,
  ETCD_WATCH_PATH,
  decodePutResponse,
  decodeRangeResponse,
  decodeWatchResponse,
  encodePutRequest,
  encodeRangeRequest,
  encodeWatchRequest,
  type WatchResponse,
} from '../bench/support/etcd-wire.ts';
import { findEtcd, startEtcd, type EtcdPeer } from '../bench/support/etcd.ts';
import { captureWatchMessages, measureFanOuts } from '../bench/suites/grpc-discovery.ts';
import { findH2load, runGrpcLoad } from '../bench/support/h2load.ts';
import { formatTable, machineInfo, result, skippedResult, writeReport } from '../bench/support/report.ts';

const identity = (bytes: Buffer): Buffer => bytes;

function unary(client: Client, path: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(path, identity, identity, request, (error, response?: Buffer) =>
      error === null && response !== undefined ? resolve(response) : reject(error ?? new Error('no answer')),
    ),
  );
}

async function put(client: Client, key: string, value: Buffer): Promise<number> {
  return decodePutResponse(
    await unary(client, ETCD_PUT_PATH, encodePutRequest({ key: Buffer.from(key), value })),
  ).header.revision;
}

/** The next `count` messages of a raw Watch stream, decoded. */
function nextResponses(call: ClientDuplexStream<Buffer, Buffer>, count: number): Promise<WatchResponse[]> {
  return new Promise((resolve, reject) => {
    const got: WatchResponse[] = [];
    const onData = (bytes: Buffer): void => {
      got.push(decodeWatchResponse(bytes));
      if (got.length === count) {
        call.off('data', onData);
        resolve(got);
      }
    };
    call.on('data', onData);
    call.once('error', reject);
  });
}

async function requirePeer(find: typeof findEtcd): Promise<string> {
  const peer = await find();
  // CI installs both (.ci/run); a machine without them fails here with the install line, rather than skipping.
  if (!peer.available) assert.fail(peer.reason);
  return peer.path;
}

describe('bench peers', () => {
  let etcd: EtcdPeer;
  let client: Client;

  before(async () => {
    etcd = await startEtcd(await requirePeer(findEtcd));
    client = new Client(etcd.target, credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    await etcd?.stop();
  });

  it('starts etcd on loopback, on ports of its own, and it answers Put and a serializable Range', async () => {
    assert.match(etcd.target, /^127\.0\.0\.1:\d+$/);
    assert.match(etcd.version, /^3\./);
    const value = Buffer.from('{"service":"checkout"}');
    const revision = await put(client, '/bench/range', value);
    const response = decodeRangeResponse(
      await unary(
        client,
        ETCD_RANGE_PATH,
        encodeRangeRequest({ key: Buffer.from('/bench/range'), serializable: true }),
      ),
    );
    assert.equal(response.count, 1);
    assert.equal(response.kvs[0]?.key.toString(), '/bench/range');
    assert.deepEqual(response.kvs[0]?.value, value);
    assert.equal(response.kvs[0]?.mod_revision, revision);
    assert.ok(response.header.revision >= revision);
  });

  it('opens a Watch the way the fan-out clients do: created first, then the Put as one event', async () => {
    const call = client.makeBidiStreamRequest(ETCD_WATCH_PATH, identity, identity);
    try {
      const created = nextResponses(call, 1);
      call.write(encodeWatchRequest({ create_request: { key: Buffer.from('/bench/watched') } }));
      const [first] = await created;
      assert.equal(first?.created, true);
      assert.equal(first?.events.length, 0);
      const event = nextResponses(call, 1);
      const value = Buffer.alloc(3000, 7);
      const revision = await put(client, '/bench/watched', value);
      const [changed] = await event;
      assert.equal(changed?.watch_id, first?.watch_id);
      assert.equal(changed?.events.length, 1);
      assert.equal(changed?.events[0]?.type, 0);
      assert.equal(changed?.events[0]?.kv.key.toString(), '/bench/watched');
      assert.deepEqual(changed?.events[0]?.kv.value, value);
      assert.equal(changed?.events[0]?.kv.mod_revision, revision);
    } finally {
      call.cancel();
    }
  });

  it('stops etcd: the process is gone and its data directory removed; two at once do not collide', async () => {
    const binary = await requirePeer(findEtcd);
    const [a, b] = await Promise.all([startEtcd(binary), startEtcd(binary)]);
    assert.notEqual(a.port, b.port);
    assert.notEqual(a.dataDir, b.dataDir);
    for (const peer of [a, b]) {
      await peer.stop();
      assert.throws(() => process.kill(peer.pid, 0), { code: 'ESRCH' });
      await assert.rejects(stat(peer.dataDir), { code: 'ENOENT' });
    }
  });

  it('h2load measures unary gRPC calls, with per-call latencies', async () => {
    const value = Buffer.alloc(500, 1);
    await put(client, '/bench/load', value);
    const message = encodeRangeRequest({ key: Buffer.from('/bench/load'), serializable: true });
    const responseBytes = (await unary(client, ETCD_RANGE_PATH, message)).byteLength;
    const measured = await runGrpcLoad(await requirePeer(findH2load), {
      target: etcd.target,
      path: ETCD_RANGE_PATH,
      message,
      responseBytes,
      connections: 2,
      streams: 4,
      warmupSeconds: 0,
      durationSeconds: 1,
    });
    assert.ok(measured.requests > 0);
    assert.equal(measured.requestsPerSecond, measured.requests);
    assert.ok(measured.p50Ms > 0 && measured.p50Ms <= measured.p99Ms && Number.isFinite(measured.p99Ms));
  });

  it('h2load runs whose calls fail inside gRPC, or answer other bytes, are rejected', async () => {
    const h2load = await requirePeer(findH2load);
    const base = {
      target: etcd.target,
      message: encodeRangeRequest({ key: Buffer.from('/bench/load'), serializable: true }),
      connections: 1,
      streams: 2,
      warmupSeconds: 0,
      durationSeconds: 1,
    };
    // UNIMPLEMENTED comes as HTTP 200 with grpc-status in the trailers: h2load alone would count it as a success.
    await assert.rejects(
      runGrpcLoad(h2load, { ...base, path: '/etcdserverpb.KV/NoSuchMethod', responseBytes: 10 }),
      {
        message: /failed inside gRPC/,
      },
    );
    const responseBytes = (await unary(client, ETCD_RANGE_PATH, base.message)).byteLength;
    await assert.rejects(
      runGrpcLoad(h2load, { ...base, path: ETCD_RANGE_PATH, responseBytes: responseBytes + 1 }),
      {
        message: /failed inside gRPC/,
      },
    );
  });
});

describe('the fan-out harness', () => {
  it('measures endpointd and etcd with the same clients: every stream gets every change, with its content', async () => {
    // etcd's values are endpointd's own Watch messages for the two versions, each carrying its version string.
    const captured = await captureWatchMessages();
    for (const [variant, message] of captured.messages.entries()) {
      assert.ok(message.includes(captured.markers[variant] ?? '-'));
    }
    assert.notEqual(captured.markers[0], captured.markers[1]);
    const binary = await requirePeer(findEtcd);
    // measureFanOuts throws unless all 100 streams of each side received each of the 3 changes (and, for etcd,
    // the sampled event is the PUT of the watched key with that value at the Put's revision).
    const [endpointd, etcdFigures] = await measureFanOuts(
      [{ kind: 'endpointd' }, { kind: 'etcd', binary }],
      captured,
      100,
      3,
    );
    for (const figures of [endpointd, etcdFigures]) {
      assert.ok(figures !== undefined);
      assert.ok(figures.first > 0, JSON.stringify(figures));
      assert.ok(figures.first <= figures.p50 && figures.p50 <= figures.p99, JSON.stringify(figures));
      assert.ok(Number.isFinite(figures.p99));
      // The latest receipt of each change, and the CPU each change cost the server and the clients (/proc).
      assert.equal(figures.lasts.length, 3);
      assert.ok(figures.first <= figures.last, JSON.stringify(figures));
      assert.ok(figures.serverCpuMs > 0 && figures.clientsCpuMs > 0, JSON.stringify(figures));
    }
    assert.equal(endpointd?.writeMs, 0);
    assert.ok((etcdFigures?.writeMs ?? 0) > 0);
  });
});

describe('bench rows for missing peers', () => {
  it('a peer missing from PATH, or named by a wrong BENCH_ETCD, is reported with how to install it', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'bench-path-'));
    const saved = { PATH: process.env.PATH, BENCH_ETCD: process.env.BENCH_ETCD };
    try {
      process.env.PATH = empty;
      delete process.env.BENCH_ETCD;
      assert.deepEqual(await findEtcd(), {
        available: false,
        reason: 'etcd not installed: apt-get install etcd-server',
      });
      assert.deepEqual(await findH2load(), {
        available: false,
        reason: 'h2load not installed: apt-get install nghttp2-client',
      });
      process.env.BENCH_ETCD = join(empty, 'etcd');
      const named = await findEtcd();
      assert.equal(named.available, false);
      assert.match(
        named.available ? '' : named.reason,
        /^BENCH_ETCD=.*\/etcd is not an executable \(etcd not installed: apt-get install etcd-server\)$/,
      );
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.BENCH_ETCD === undefined) delete process.env.BENCH_ETCD;
      else process.env.BENCH_ETCD = saved.BENCH_ETCD;
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('skipped rows carry the reason and no number; every row of the report has the same seven keys', async () => {
    const reason = 'etcd not installed: apt-get install etcd-server';
    const rows = [
      result('measured_ms', 2, 'ms', { name: 'peer_ms', value: 4 }),
      result('measured_without_peer_ms', 3, 'ms', { name: 'peer_ms', skipped: reason }),
      skippedResult(
        'not_measured_rps',
        'req/s',
        'h2load not installed: apt-get install nghttp2-client',
        'peer_rps',
      ),
      // A row built by an older suite, without the key.
      { name: 'legacy', value: 1, unit: 'ms', baseline_name: null, baseline: null, ratio: null },
    ];
    assert.deepEqual(rows[0], {
      name: 'measured_ms',
      value: 2,
      unit: 'ms',
      baseline_name: 'peer_ms',
      baseline: 4,
      ratio: 0.5,
      skipped: null,
    });
    assert.deepEqual(rows[1], {
      name: 'measured_without_peer_ms',
      value: 3,
      unit: 'ms',
      baseline_name: 'peer_ms',
      baseline: null,
      ratio: null,
      skipped: `baseline: ${reason}`,
    });
    const dir = await mkdtemp(join(tmpdir(), 'bench-report-'));
    try {
      const path = join(dir, 'report.json');
      await writeReport(path, { results: rows, machine: machineInfo(), suites: [] });
      const written = JSON.parse(await readFile(path, 'utf8')) as { results: Record<string, unknown>[] };
      const keys = ['name', 'value', 'unit', 'baseline_name', 'baseline', 'ratio', 'skipped'].sort();
      for (const row of written.results) assert.deepEqual(Object.keys(row).sort(), keys);
      assert.equal(written.results[2]?.value, null);
      assert.equal(written.results[3]?.skipped, null);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const table = formatTable(rows);
    assert.match(table, /measured_without_peer_ms +3\.00 +ms +peer_ms +- +- +baseline: etcd not installed/);
    assert.match(table, /not_measured_rps +- +req\/s +peer_rps +- +- +h2load not installed/);
    assert.match(table, /measured_ms +2\.00 +ms +peer_ms +4\.00 +0\.500/);
  });
});
