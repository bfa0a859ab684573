/**
 * The single executable (`npm run build:exe`, docs/install.md): built once for this file, then only
 * copies of it run, from a folder outside the checkout, with a PATH that has no Node and no
 * node_modules — `--version`, the demo, and two nodes that pair, upload and download.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../src/version.ts';
import { type CliRun, runProcess } from '../helpers/cli.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';
import { until } from '../helpers/until.ts';

const ASSETS = fileURLToPath(new URL('../../src/web/assets/', import.meta.url));
const BUILD = fileURLToPath(new URL('../../scripts/build-exe.ts', import.meta.url));
/** No Node, no node_modules/.bin: what a machine with only the executable has. */
const BARE_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

let buildDir = '';
let exe = '';

before(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'arozdfs-exe-'));
  exe = join(buildDir, 'arozdfs');
  execFileSync(process.execPath, [BUILD, '--out', exe], { stdio: ['ignore', 'pipe', 'pipe'] });
});

after(async () => {
  if (buildDir !== '') await rm(buildDir, { recursive: true, force: true });
});

/** A copy of the executable in its own folder, as a person would install it. */
async function copyOfExe(t: TestContext, name: string): Promise<string> {
  const dir = await tmpDir(t, `arozdfs-exe-${name}-`);
  const path = join(dir, 'arozdfs');
  await copyFile(exe, path);
  execFileSync('chmod', ['755', path]);
  return path;
}

function run(file: string, args: string[], cwd: string): Promise<CliRun> {
  return runProcess(file, args, { cwd, env: { PATH: BARE_PATH, NODE_OPTIONS: '' }, timeoutMs: 90_000 });
}

test('the executable prints its version and the Node inside it', async (t: TestContext) => {
  const file = await copyOfExe(t, 'version');
  const result = await run(file, ['--version'], tmpdir());
  t.assert.strictEqual(result.code, 0, result.stderr);
  t.assert.match(
    result.stdout.trim(),
    new RegExp(
      `^${VERSION.replaceAll('.', '\\.')} \\(single executable: Node 24\\.\\d+\\.\\d+, linux-\\w+\\)$`,
    ),
  );
  t.assert.strictEqual(result.stderr, '');
});

test('the executable slices and merges a file (the hash worker runs inside it)', async (t: TestContext) => {
  const file = await copyOfExe(t, 'slice');
  const dir = await tmpDir(t);
  const original = testBytes(3 * 1024 * 1024 + 5);
  await writeFile(join(dir, 'data.bin'), original);
  const sliced = await run(file, ['--json', 'slice', 'data.bin', '--chunk-size', '1MiB'], dir);
  t.assert.strictEqual(sliced.code, 0, sliced.stderr);
  const index = String(sliced.lines().at(-1)?.['indexPath'] ?? join(dir, 'data.bin.chunks', 'index.json'));
  const merged = await run(file, ['--json', 'merge', index, '--out', 'copy.bin'], dir);
  t.assert.strictEqual(merged.code, 0, merged.stderr);
  t.assert.ok(original.equals(await readFile(join(dir, 'copy.bin'))));
});

test('the executable runs the demo with nothing else installed', async (t: TestContext) => {
  const file = await copyOfExe(t, 'demo');
  const cwd = await tmpDir(t);
  const result = await run(file, ['--json', 'demo', '--size', '6MiB', '--chunk-size', '1MiB'], cwd);
  t.assert.strictEqual(result.code, 0, result.stderr);
  const last = result.lines().at(-1);
  t.assert.strictEqual(last?.['type'], 'result');
  t.assert.strictEqual(last?.['identical'], true, JSON.stringify(last));
});

/** A port free on `host` right now. */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('two copies of the executable pair, serve the web UI, upload and download a file', async (t: TestContext) => {
  const stack = teardown(t);
  const dir = await tmpDir(t);
  const nodes = await Promise.all(
    ['alpha', 'beta'].map(async (name, i) => {
      const file = await copyOfExe(t, name);
      const home = join(dir, name);
      const host = `127.0.0.${2 + i}`;
      const ports = { port: await freePort(host), web: await freePort(host) };
      return { name, file, home, host, ...ports, uuid: '', pairing: '' };
    }),
  );
  const cli = async (node: (typeof nodes)[number], args: string[]) => {
    const result = await run(node.file, ['--home', node.home, '--json', ...args], dir);
    t.assert.strictEqual(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    return result.lines().at(-1) ?? {};
  };
  for (const node of nodes) {
    await cli(node, ['init', '--name', node.name]);
    const shown = await cli(node, ['keys', 'show']);
    node.uuid = String(shown['nodeUuid']);
    node.pairing = String(shown['pairing']);
  }
  const [alpha, beta] = nodes as [(typeof nodes)[number], (typeof nodes)[number]];
  await cli(alpha, ['peers', 'add', beta.pairing, '--yes']);
  await cli(beta, ['peers', 'add', alpha.pairing, '--yes']);

  for (const node of nodes) {
    const other = node === alpha ? beta : alpha;
    const args = ['--home', node.home, 'serve', '--listen', `${node.host}:${node.port}`, '--no-discovery'];
    args.push('--web', `${node.host}:${node.web}`, '--peer', `${other.uuid}@${other.host}:${other.port}`);
    const child: ChildProcess = spawn(node.file, args, {
      cwd: dir,
      env: { PATH: BARE_PATH },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    stack.defer(async () => {
      child.kill('SIGTERM');
      await exited;
    });
  }
  for (const node of nodes) await cli(node, ['wait', '--timeout', '60']);
  await until(
    'beta sees alpha online',
    async () => {
      const result = await run(beta.file, ['--home', beta.home, '--json', 'cluster', 'nodes'], dir);
      return (
        result.code === 0 && result.stdout.includes(`"online":true`) && result.stdout.includes(alpha.uuid)
      );
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );

  // The web UI's files come from inside the executable.
  for (const [path, file] of [
    ['/', 'index.html'],
    ['/app.js', 'app.js'],
  ] as const) {
    const response = await fetch(`http://${alpha.host}:${alpha.web}${path}`);
    t.assert.strictEqual(response.status, 200);
    t.assert.strictEqual(await response.text(), await readFile(join(ASSETS, file), 'utf8'));
  }

  const original = testBytes(5 * 1024 * 1024 + 123);
  await writeFile(join(dir, 'big.bin'), original);
  const index = join(dir, 'big.bin.index.json');
  const uploaded = await cli(beta, [
    'upload',
    join(dir, 'big.bin'),
    '--chunk-size',
    '1MiB',
    '--index',
    index,
  ]);
  t.assert.strictEqual(uploaded['type'], 'result', JSON.stringify(uploaded));
  const copy = join(dir, 'copy.bin');
  await cli(alpha, ['download', index, '--out', copy]);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  t.assert.strictEqual(sha(await readFile(copy)), sha(original));
});
