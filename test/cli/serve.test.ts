/**
 * `arozdfs serve` as a real process: it starts, says where it listens, and stops gracefully on
 * SIGTERM — a put in flight either completes whole or leaves nothing behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isArozError } from '../../src/errors.ts';
import { NodeHome } from '../../src/home/open.ts';
import { makeNodeCertificate } from '../../src/keys/certificate.ts';
import { DiskStore } from '../../src/store/disk-store.ts';
import { RemoteChunkWriter } from '../../src/transport/chunks.ts';
import { dialPeer } from '../../src/transport/client.ts';
import { newUuid } from '../../src/uuid.ts';
import { runCli, runProcess } from '../helpers/cli.ts';
import { teardown } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';
import { pairAll, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { PASSWORD, WebClient } from '../helpers/web.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const LAUNCHER = fileURLToPath(new URL('../../bin/arozdfs.js', import.meta.url));
const BUILTINS_TRACE = fileURLToPath(new URL('../helpers/builtins-trace.js', import.meta.url));
const templates = testnetTemplates(2);

interface Served {
  child: ChildProcess;
  ready: Record<string, unknown>;
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

async function serve(t: TestContext, home: string, web = ['--web', 'off']): Promise<Served> {
  const child = spawn(
    process.execPath,
    [CLI, '--home', home, '--json', 'serve', '--listen', '127.0.0.2:0', '--no-discovery', ...web],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  teardown(t).defer(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const lines: Array<Record<string, unknown>> = [];
  const reader = createInterface({ input: child.stdout! });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    reader.on('line', (line) => {
      const value = JSON.parse(line) as Record<string, unknown>;
      lines.push(value);
      if (value['type'] === 'ready') resolve(value);
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before it was ready`)));
  });
  return { child, ready, lines, exited };
}

async function clientOf(home: string) {
  const opened = await NodeHome.open(home);
  const pair = await opened.activeKeyPair();
  const cert = await makeNodeCertificate(opened.config.nodeUuid, pair);
  return { identity: { nodeUuid: opened.config.nodeUuid, ...cert }, trust: await opened.trustStore() };
}

async function startPut(t: TestContext, homes: string[], served: Served, size: number) {
  const [host, port] = String(served.ready['listen']).split(':');
  const { identity, trust } = await clientOf(homes[1]!);
  const session = await dialPeer({
    uuid: String(served.ready['nodeUuid']),
    host: host!,
    port: Number(port),
    identity,
    pins: trust,
  });
  teardown(t).defer(() => session.destroy());
  const uuid = newUuid();
  return { uuid, writer: new RemoteChunkWriter(session, identity.nodeUuid, uuid, { size }) };
}

/** Whether the daemon's cluster port refuses a TCP connection (it does once it is stopping). */
function refused(served: Served): Promise<boolean> {
  const [host, port] = String(served.ready['listen']).split(':');
  return new Promise((resolve) => {
    const socket = netConnect({ host: host!, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function visibleChunks(home: string, nodeUuid: string): Promise<string[]> {
  const store = await DiskStore.open(join(home, 'stores', 'default'), nodeUuid);
  try {
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) await walk(join(dir, entry.name));
        else found.push(entry.name);
      }
    };
    await walk(join(home, 'stores', 'default', 'chunks'));
    return found;
  } finally {
    await store.close();
  }
}

test('serve reports where it listens and exits 0 on SIGTERM, removing its socket', async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const served = await serve(t, home!);
  t.assert.match(String(served.ready['listen']), /^127\.0\.0\.2:\d+$/);
  t.assert.strictEqual((await runCli(['--json', 'cluster', 'nodes'], { home: home! })).code, 0);
  served.child.kill('SIGTERM');
  t.assert.strictEqual(await served.exited, 0);
  t.assert.strictEqual(served.lines.at(-1)?.['type'], 'result');
  const after = await runCli(['--json', 'cluster', 'nodes'], { home: home! });
  t.assert.strictEqual(after.code, 1);
  t.assert.strictEqual(after.lines().at(-1)?.['code'], 'ERR_DAEMON_UNREACHABLE');
});

test('a Ctrl-C that arrives once the command is over does not turn exit code 0 into death by signal', async (t: TestContext) => {
  // Under `npm start`, npm forwards the terminal's Ctrl-C: on a busy machine its copy can come after
  // the daemon has stopped. Here the late signal is sent by the process to itself, just after main().
  const script = `
    const { main } = await import(${JSON.stringify(new URL('../../src/cli.ts', import.meta.url).href)});
    process.exitCode = await main(['--version']);
    process.kill(process.pid, 'SIGINT');
    setImmediate(() => console.log('still here'));
  `;
  const run = await runProcess(process.execPath, ['--input-type=module', '-e', script]);
  t.assert.deepStrictEqual([run.code, run.signal], [0, null], run.stderr);
  t.assert.match(run.stdout, /still here/);
});

test('SIGTERM during a put lets it finish: the chunk is whole', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const served = await serve(t, homes[0]!);
  const data = testBytes(4 * 1024 * 1024);
  const { uuid, writer } = await startPut(t, homes, served, data.length);
  await writer.write(data.subarray(0, 1024 * 1024));
  served.child.kill('SIGTERM');
  await until('the daemon, stopping, refuses new connections', () => refused(served));
  await writer.write(data.subarray(1024 * 1024));
  t.assert.strictEqual(await writer.finish(createHash('sha256').update(data).digest('hex')), 'created');
  t.assert.strictEqual(await served.exited, 0);
  const nodeUuid = String(served.ready['nodeUuid']);
  t.assert.deepStrictEqual((await visibleChunks(homes[0]!, nodeUuid)).sort(), [uuid, `${uuid}.json`]);
});

test('SIGTERM during a put that stalls aborts it: nothing half-written is left', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const served = await serve(t, homes[0]!);
  const { writer } = await startPut(t, homes, served, 4 * 1024 * 1024);
  await writer.write(testBytes(1024 * 1024));
  served.child.kill('SIGTERM');
  t.assert.strictEqual(await served.exited, 0);
  await t.assert.rejects(writer.finish('0'.repeat(64)), (err) => isArozError(err));
  t.assert.deepStrictEqual(await visibleChunks(homes[0]!, String(served.ready['nodeUuid'])), []);
});

test('serve prints the web UI address and a one-time setup token until a password is set', async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const first = await serve(t, home!, ['--web', '127.0.0.2:0']);
  const web = first.ready['web'] as { url: string; tls: boolean; setupToken: string | null };
  t.assert.match(web.url, /^http:\/\/127\.0\.0\.2:\d+\/$/);
  t.assert.match(String(web.setupToken), /^[A-Za-z0-9_-]{43}$/);
  const client = new WebClient(web.url);
  const setup = await client.post('/api/setup', { token: web.setupToken, password: PASSWORD });
  t.assert.strictEqual(setup.status, 200);
  first.child.kill('SIGTERM');
  t.assert.strictEqual(await first.exited, 0);

  const second = await serve(t, home!, ['--web', '127.0.0.2:0', '--web-tls']);
  const again = second.ready['web'] as {
    url: string;
    setupToken: string | null;
    certificateFingerprint: string;
  };
  t.assert.strictEqual(again.setupToken, null, 'no token once a password is set');
  t.assert.match(again.url, /^https:/);
  t.assert.match(again.certificateFingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const tls = new WebClient(again.url);
  t.assert.strictEqual((await tls.login(PASSWORD)).status, 200);
  t.assert.strictEqual((await tls.get('/api/host')).json.nodeUuid, second.ready['nodeUuid']);
});

test('a cluster or web address taken by another program is named, and nothing keeps running', async (t: TestContext) => {
  const [home] = await templates.homes(t);
  const { createServer } = await import('node:net');
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.2', resolve));
  teardown(t).defer(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const taken = `127.0.0.2:${(busy.address() as { port: number }).port}`;
  for (const args of [
    ['--listen', taken, '--web', 'off'],
    ['--listen', '127.0.0.2:0', '--web', taken],
  ]) {
    const run = await runCli(['--json', 'serve', '--no-discovery', ...args], {
      home: home!,
      timeoutMs: 30_000,
    });
    t.assert.strictEqual(run.code, 1, run.stderr);
    t.assert.strictEqual(run.lines().at(-1)?.['code'], 'ERR_ADDRESS_IN_USE', run.stdout);
    t.assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  }
  const unavailable = await runCli(
    ['--json', 'serve', '--no-discovery', '--listen', '127.0.0.2:0', '--web', '192.0.2.1:0'],
    {
      home: home!,
      timeoutMs: 30_000,
    },
  );
  t.assert.strictEqual(unavailable.lines().at(-1)?.['code'], 'ERR_ADDRESS_UNAVAILABLE', unavailable.stdout);
});

test('a daemon started through the launcher with an empty compile cache loads neither the type stripper nor undici', async (t: TestContext) => {
  // The launcher fills the cache first (bin/arozdfs.js, warmCacheForDaemon): a daemon that loaded
  // the stripper would keep its 25 MiB for good.
  const [home] = await templates.homes(t);
  const dir = await mkdtemp(join(tmpdir(), 'arozdfs-cache-'));
  teardown(t).defer(() => rm(dir, { recursive: true, force: true }));
  const trace = join(dir, 'builtins.json');
  const child = spawn(
    process.execPath,
    [
      '--import',
      BUILTINS_TRACE,
      LAUNCHER,
      '--home',
      home!,
      '--json',
      'serve',
      '--listen',
      '127.0.0.2:0',
      '--no-discovery',
      '--web',
      'off',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_COMPILE_CACHE: join(dir, 'cache'), AROZDFS_BUILTINS_TRACE: trace },
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  teardown(t).defer(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const reader = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    reader.on('line', (line) => {
      if ((JSON.parse(line) as { type?: string }).type === 'ready') resolve();
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before it was ready`)));
  });
  child.kill('SIGTERM');
  t.assert.strictEqual(await exited, 0);
  const builtins = JSON.parse(await readFile(trace, 'utf8')) as string[];
  t.assert.ok(builtins.length > 0);
  t.assert.deepStrictEqual(
    builtins.filter((m) => m.includes('amaro')),
    [],
  );
  // Node's fetch and WebSocket client, which an ES import of node:http loads (src/control/server.ts).
  t.assert.deepStrictEqual(
    builtins.filter((m) => m.includes('undici')),
    [],
  );
});
