import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { ActionFactory } from '../../src/cli/context.ts';
import { COMMAND_MODULES, commandName, MODULE_OF } from '../../src/cli.ts';
import { CLI, runProcess } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';

const TRACE = fileURLToPath(new URL('../helpers/load-trace.ts', import.meta.url));

test('each command module registers exactly the top-level commands MODULE_OF gives it', async (t: TestContext) => {
  const noAction: ActionFactory = () => async () => {};
  const all = new Set<string>();
  for (const [module, load] of Object.entries(COMMAND_MODULES)) {
    const program = new Command('arozdfs');
    (await load()).register(program, noAction);
    const names = program.commands.map((c) => c.name()).sort();
    const expected = Object.entries(MODULE_OF)
      .filter(([, m]) => m === module)
      .map(([name]) => name)
      .sort();
    t.assert.deepStrictEqual(names, expected, module);
    for (const name of names) all.add(name);
  }
  t.assert.deepStrictEqual([...all].sort(), Object.keys(MODULE_OF).sort());
});

test('commandName() skips program options and the value of --home', (t: TestContext) => {
  t.assert.strictEqual(commandName(['jobs', 'list']), 'jobs');
  t.assert.strictEqual(commandName(['--home', 'jobs', 'cluster', 'nodes']), 'cluster');
  t.assert.strictEqual(commandName(['--home=/x', '--json', 'ls']), 'ls');
  t.assert.strictEqual(commandName(['--json', '--version']), undefined);
  t.assert.strictEqual(commandName(['--', 'jobs']), undefined);
  t.assert.strictEqual(commandName([]), undefined);
});

/** Runs the CLI with the load trace; returns what it loaded, relative to the repository. */
async function trace(t: TestContext, args: string[]) {
  const dir = await tmpDir(t);
  const out = join(dir, 'trace.json');
  const run = await runProcess(
    process.execPath,
    ['--import', TRACE, CLI, '--home', join(dir, 'home'), ...args],
    { env: { AROZDFS_LOAD_TRACE: out } },
  );
  const { loaded, builtins } = JSON.parse(await readFile(out, 'utf8')) as {
    loaded: string[];
    builtins: string[];
  };
  const root = new URL('../../', import.meta.url).href;
  return { run, loaded: loaded.map((u) => u.replace(root, '')), builtins };
}

/** What a command that only asks the daemon must never load. */
const HEAVY_SOURCE =
  /^src\/(node|store|transport|transfer|catalog|chunk|web|cluster|jobs|ops|repair|check|keys|placement|index-file\/(?!types\.ts))/;
const HEAVY_PACKAGES = /^node_modules\/(cli-progress|multicast-dns)\//;
const HEAVY_BUILTINS = [
  'NativeModule tls',
  'NativeModule http2',
  'NativeModule sqlite',
  'NativeModule worker_threads',
];

for (const args of [['--version'], ['jobs', 'list'], ['cluster', 'nodes']]) {
  test(`"${args.join(' ')}" loads neither the daemon, stores, TLS, sqlite, undici nor the progress bar`, async (t: TestContext) => {
    const { run, loaded, builtins } = await trace(t, args);
    // No daemon runs for this home: the two daemon commands fail, after loading all they need.
    if (args[0] === '--version') t.assert.strictEqual(run.code, 0);
    else t.assert.match(run.stderr, /ERR_DAEMON_UNREACHABLE/);
    t.assert.ok(loaded.includes('src/cli.ts'));
    t.assert.deepStrictEqual(
      loaded.filter((u) => HEAVY_SOURCE.test(u) || HEAVY_PACKAGES.test(u)),
      [],
    );
    t.assert.deepStrictEqual(
      builtins.filter((b) => HEAVY_BUILTINS.includes(b) || b.includes('undici')),
      [],
    );
    // Only the module of the command run: no other command's file.
    const commands = loaded.filter((u) => /^src\/cli\/(?!context|output|table|jobs-client)/.test(u));
    t.assert.deepStrictEqual(commands, args[0] === '--version' ? [] : [`src/cli/${args[0]}.ts`]);
  });
}

const BIN = fileURLToPath(new URL('../../bin/arozdfs.js', import.meta.url));

test('bin/arozdfs.js keeps its compile cache under $XDG_CACHE_HOME/arozdfs, and never needs it', async (t: TestContext) => {
  if (
    process.env['NODE_COMPILE_CACHE'] !== undefined ||
    process.env['NODE_DISABLE_COMPILE_CACHE'] !== undefined
  ) {
    t.skip('NODE_COMPILE_CACHE or NODE_DISABLE_COMPILE_CACHE is set for the tests');
    return;
  }
  const dir = await tmpDir(t);
  const cache = join(dir, 'cache');
  const env = { XDG_CACHE_HOME: cache };
  const first = await runProcess(process.execPath, [BIN, '--version'], { env });
  t.assert.strictEqual(first.code, 0);
  const [versionDir] = await readdir(join(cache, 'arozdfs', 'compile-cache'));
  t.assert.ok(versionDir !== undefined);
  t.assert.ok((await readdir(join(cache, 'arozdfs', 'compile-cache', versionDir))).length > 0);

  // Turned off: nothing is written.
  const off = join(dir, 'off');
  const disabled = await runProcess(process.execPath, [BIN, '--version'], {
    env: { ...env, XDG_CACHE_HOME: off, NODE_DISABLE_COMPILE_CACHE: '1' },
  });
  t.assert.strictEqual(disabled.code, 0);
  await t.assert.rejects(readdir(off), { code: 'ENOENT' });

  // A cache folder that cannot be made (its parent is a file) only means no cache.
  const file = join(dir, 'a-file');
  await writeFile(file, '');
  const unusable = await runProcess(process.execPath, [BIN, '--version'], {
    env: { ...env, XDG_CACHE_HOME: file },
  });
  t.assert.strictEqual(unusable.code, 0);
  t.assert.strictEqual(unusable.stderr, '');
  t.assert.strictEqual(unusable.stdout, first.stdout);
});
