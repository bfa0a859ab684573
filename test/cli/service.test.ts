/**
 * `arozdfs service install | uninstall` (a systemd unit; systemctl is never called here) and
 * `serve`'s settings from node.json (flags, else node.json, else defaults).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type TestContext, test } from 'node:test';
import { serveSettings } from '../../src/cli/serve.ts';
import { homePaths } from '../../src/home/paths.ts';
import { CLI, runCli } from '../helpers/cli.ts';
import { teardown, tmpDir } from '../helpers/context.ts';

const ANALYZE = '/usr/bin/systemd-analyze';
// Under CI=true (.ci/run installs systemd) a missing systemd-analyze fails the test instead of skipping it.
const noAnalyze =
  existsSync(ANALYZE) || process.env['CI'] === 'true'
    ? false
    : 'systemd-analyze is not installed (Debian: apt-get install systemd)';

/** `systemd-analyze verify` of a unit file named arozdfs.service in its own folder. */
function verify(dir: string): { status: number | null; output: string } {
  const run = spawnSync(ANALYZE, ['verify', join(dir, 'arozdfs.service')], { encoding: 'utf8', cwd: dir });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

async function printedUnit(t: TestContext, args: string[], env: Record<string, string> = {}) {
  const run = await runCli(['--json', 'service', 'install', '--print', ...args], { env });
  t.assert.strictEqual(run.code, 0, run.stderr);
  return run.lines().at(-1) as { text: string; unit: string; home: string; written: boolean };
}

test('the system unit is hardened, runs start with the home, and passes systemd-analyze verify', {
  skip: noAnalyze,
}, async (t: TestContext) => {
  const dir = await tmpDir(t);
  const home = join(dir, 'node home %1');
  const store = join(dir, 'disk1');
  const unit = await printedUnit(t, ['--exec', process.execPath, '--store', store], { AROZDFS_HOME: home });
  t.assert.strictEqual(unit.written, false);
  t.assert.strictEqual(unit.unit, '/etc/systemd/system/arozdfs.service');
  t.assert.strictEqual(existsSync(unit.unit) && (await readFile(unit.unit, 'utf8')) === unit.text, false);
  const lines = unit.text.split('\n');
  for (const wanted of [
    'User=arozdfs',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'PrivateTmp=yes',
    'Restart=on-failure',
    'Environment=MALLOC_ARENA_MAX=2',
    'Environment=NODE_OPTIONS=--max-semi-space-size=2',
    `ReadWritePaths=-"${home.replaceAll('%', '%%')}" -${store}`,
    `ExecStart=${process.execPath} --home "${home.replaceAll('%', '%%')}" start --store ${store}`,
    'WantedBy=multi-user.target',
  ]) {
    t.assert.ok(lines.includes(wanted), `${wanted} in:\n${unit.text}`);
  }
  await writeFile(join(dir, 'arozdfs.service'), unit.text);
  const verified = verify(dir);
  t.assert.strictEqual(verified.status, 0, verified.output);
  t.assert.strictEqual(verified.output.trim(), '');
});

test('the system unit uses /var/lib/arozdfs when no home is given', {
  skip: process.env['AROZDFS_HOME'] !== undefined ? 'AROZDFS_HOME is set' : false,
}, async (t: TestContext) => {
  const unit = await printedUnit(t, ['--exec', process.execPath]);
  t.assert.strictEqual(unit.home, '/var/lib/arozdfs');
  t.assert.ok(unit.text.includes(`ExecStart=${process.execPath} --home /var/lib/arozdfs start\n`), unit.text);
});

test('service install --user writes a user unit, replaces its own, and uninstall removes it', {
  skip: noAnalyze,
}, async (t: TestContext) => {
  const dir = await tmpDir(t);
  const env = { XDG_CONFIG_HOME: join(dir, 'config'), AROZDFS_HOME: join(dir, 'home') };
  const unitPath = join(dir, 'config', 'systemd', 'user', 'arozdfs.service');
  const args = ['--json', 'service', 'install', '--user', '--exec', process.execPath];
  for (let i = 0; i < 2; i++) {
    const run = await runCli(args, { env });
    t.assert.strictEqual(run.code, 0, run.stderr);
    t.assert.deepStrictEqual(
      [run.lines().at(-1)?.['unit'], run.lines().at(-1)?.['written']],
      [unitPath, true],
    );
  }
  const text = await readFile(unitPath, 'utf8');
  t.assert.ok(!text.includes('User='), 'a user unit runs as its user');
  t.assert.ok(text.includes('WantedBy=default.target'));
  t.assert.ok(text.includes(`ExecStart=${process.execPath} --home ${env.AROZDFS_HOME} start`));
  const verified = verify(join(dir, 'config', 'systemd', 'user'));
  t.assert.strictEqual(verified.status, 0, verified.output);

  const removed = await runCli(['--json', 'service', 'uninstall', '--user'], { env });
  t.assert.strictEqual(removed.code, 0, removed.stderr);
  t.assert.strictEqual(removed.lines().at(-1)?.['removed'], true);
  t.assert.strictEqual(existsSync(unitPath), false);
  const again = await runCli(['--json', 'service', 'uninstall', '--user'], { env });
  t.assert.strictEqual(again.code, 0, again.stderr);
  t.assert.strictEqual(again.lines().at(-1)?.['removed'], false);
});

test('service install and uninstall leave a unit file arozdfs did not write alone', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const unitDir = join(dir, 'units');
  await mkdir(unitDir);
  await writeFile(join(unitDir, 'arozdfs.service'), '[Service]\nExecStart=/bin/true\n');
  for (const command of ['install', 'uninstall']) {
    const run = await runCli(['--json', 'service', command, '--user', '--unit-dir', unitDir], {
      env: { AROZDFS_HOME: join(dir, 'home') },
    });
    t.assert.strictEqual(run.code, 1);
    t.assert.strictEqual(run.lines().at(-1)?.['code'], 'ERR_OUTPUT_EXISTS');
  }
  t.assert.strictEqual(
    await readFile(join(unitDir, 'arozdfs.service'), 'utf8'),
    '[Service]\nExecStart=/bin/true\n',
  );
  const missing = await runCli(['--json', 'service', 'install', '--exec', join(dir, 'nope'), '--print']);
  t.assert.strictEqual(missing.lines().at(-1)?.['code'], 'ERR_FILE_NOT_FOUND');
});

test('a system unit is refused to a user who is not root', {
  skip: process.getuid?.() === 0 ? false : 'needs root (to run the CLI as another user)',
}, async (t: TestContext) => {
  for (const command of ['install', 'uninstall']) {
    const run = await runCli(['--json', 'service', command], {
      uid: 65534,
      gid: 65534,
      env: { AROZDFS_HOME: '/nonexistent/home' },
    });
    t.assert.strictEqual(run.code, 1, run.stderr);
    t.assert.strictEqual(run.lines().at(-1)?.['code'], 'ERR_PERMISSION_DENIED');
  }
});

test("serve's settings: a flag, else node.json, else the default", (t: TestContext) => {
  const config = {
    version: 1 as const,
    nodeUuid: '7cce4b05-34a5-401e-920a-98d20e7a0f37',
    name: 'alpha',
    activeKey: '624a947e-83b0-4c5c-875b-d7b22402d54f',
    createdAt: '2026-11-26T07:22:03.311Z',
  };
  const defaults = serveSettings({}, config);
  t.assert.deepStrictEqual(defaults.web, { address: '127.0.0.1:7421' });
  t.assert.deepStrictEqual(defaults.discovery, {});
  t.assert.deepStrictEqual(defaults.peers, []);
  const peer = 'ffdebe4c-0a2b-4c3d-9e4f-5a6b7c8d9e0f@10.0.0.9:7420';
  const fromFile = serveSettings(
    { peer: [peer] },
    { ...config, web: '0.0.0.0:8080', webTls: true, mdnsInterface: '127.0.0.1' },
  );
  t.assert.deepStrictEqual(fromFile.web, { address: '0.0.0.0:8080', tls: true });
  t.assert.deepStrictEqual(fromFile.discovery, { interface: '127.0.0.1', bind: '0.0.0.0' });
  t.assert.deepStrictEqual(
    fromFile.peers?.map((p) => p.uuid),
    ['ffdebe4c-0a2b-4c3d-9e4f-5a6b7c8d9e0f'],
  );
  const flags = serveSettings(
    { web: 'off', discovery: false },
    { ...config, web: '0.0.0.0:8080', discovery: true },
  );
  t.assert.strictEqual(flags.web, false);
  t.assert.strictEqual(flags.discovery, false);
  t.assert.strictEqual(serveSettings({}, { ...config, discovery: false }).discovery, false);
});

test('serve takes its listen and web addresses from node.json; a bad field is ERR_HOME_INVALID', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const home = join(dir, 'home');
  t.assert.strictEqual((await runCli(['init', '--name', 'alpha'], { home })).code, 0);
  const nodeJson = homePaths(home).nodeJson;
  const config = JSON.parse(await readFile(nodeJson, 'utf8')) as Record<string, unknown>;

  await writeFile(nodeJson, JSON.stringify({ ...config, web: 'nowhere' }));
  const bad = await runCli(['--json', 'serve', '--no-discovery'], { home });
  t.assert.strictEqual(bad.code, 1);
  t.assert.strictEqual(bad.lines().at(-1)?.['code'], 'ERR_HOME_INVALID');

  await writeFile(nodeJson, JSON.stringify({ ...config, listen: '127.0.0.2:0', web: 'off' }));
  // --no-discovery stays a flag here: nothing in a test announces on the real network.
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, '--home', home, '--json', 'serve', '--no-discovery'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  teardown(t).defer(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (value['type'] === 'ready') resolve(value);
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before it was ready`)));
  });
  t.assert.match(String(ready['listen']), /^127\.0\.0\.2:\d+$/);
  t.assert.strictEqual(ready['web'], null);
  child.kill('SIGTERM');
  t.assert.strictEqual(await exited, 0);
});
