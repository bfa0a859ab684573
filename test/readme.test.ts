/**
 * The README is a contract: its quick starts run here as written. Each command block is taken from
 * README.md itself and run by bash from this checkout (where `npx arozdfs` finds the CLI), with a
 * person's PATH, on a terminal (`script`), answering the pairing questions as a person would (the
 * pairing string and fingerprint tail copied from what `keys show` printed just before). Each run has
 * its own network namespace (so the README's fixed addresses and ports are free) and PID namespace
 * (so whatever it started is gone when it ends), and `mktemp -d` puts its files in the test's own
 * temporary folder. Needs root (CI runs as root); skipped with the reason otherwise.
 *
 * Also here: `npm test`'s permission test and the first quick start, run from a copy of the checkout
 * inside a folder other users cannot enter (mode 0700), as when a person clones into /root.
 */
import { spawn } from 'node:child_process';
import { copyFile, cp, link, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { runProcess } from './helpers/cli.ts';
import { teardown, tmpDir } from './helpers/context.ts';
import { LO_SETUP, noNetns, noNpm, ROOT, USER_PATH } from './helpers/user-shell.ts';
import { ttyUnavailable } from './helpers/wrapped-cli.ts';

const skip = noNetns || noNpm || ttyUnavailable || false;
const README = await readFile(join(ROOT, 'README.md'), 'utf8');

/** The first ```sh block under the README heading that starts with `heading`. */
function block(heading: string): string {
  const at = README.indexOf(`\n## ${heading}`);
  if (at < 0) throw new Error(`README.md has no section "## ${heading}"`);
  const next = README.indexOf('\n## ', at + 1);
  const section = README.slice(at, next < 0 ? undefined : next);
  const found = /```sh\n([\s\S]*?)```/.exec(section);
  if (found === null) throw new Error(`README.md section "${heading}" has no sh block`);
  return found[1]!;
}

interface PersonRun {
  code: number | null;
  /** Everything the terminal showed (stdout and stderr, with what was typed). */
  screen: string;
}

/**
 * Runs a script as a person at a terminal would, from `cwd`: bash with job control (as an
 * interactive shell has), `set -e` so that a failing step ends the run. Answers `peers add -`.
 */
async function runAsPerson(t: TestContext, script: string, cwd = ROOT): Promise<PersonRun> {
  const tmp = await tmpDir(t, 'arozdfs-readme-');
  // A step that fails ends the run; the nodes it started in the background stop with it.
  const stop = "trap 'for job in $(jobs -p); do kill -- -$job; done 2>/dev/null; wait' EXIT";
  await writeFile(join(tmp, 'block.sh'), `set -e\n${stop}\n${script}`);
  const child = spawn(
    'unshare',
    [
      '-n',
      '-p',
      '-f',
      '--kill-child',
      'sh',
      '-c',
      `${LO_SETUP} && exec script -qfec "bash -m ${tmp}/block.sh" /dev/null`,
    ],
    {
      cwd,
      env: {
        ...process.env,
        PATH: USER_PATH,
        TMPDIR: tmp,
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  teardown(t).defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let screen = '';
  let pastes = 0;
  let confirms = 0;
  const onData = (d: string) => {
    screen += d;
    const text = screen.replaceAll('\r', '');
    const pasteAt = nth(text, 'Paste the pairing string', pastes);
    if (pasteAt >= 0) {
      pastes++;
      const shown = [...text.slice(0, pasteAt).matchAll(/^(arozdfs-pair-v1:\S+)$/gm)].at(-1);
      child.stdin.write(`${shown?.[1] ?? 'nothing was shown'}\n\n`);
    }
    const confirmAt = nth(text, 'Type the last 6 characters', confirms);
    if (confirmAt >= 0) {
      confirms++;
      const tail = [...text.slice(0, confirmAt).matchAll(/It ends in "(.{6})"/g)].at(-1);
      child.stdin.write(`${tail?.[1] ?? 'nothing was shown'}\n`);
    }
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const code = await exited;
  return { code, screen: plain(screen) };
}

/** What the terminal shows, without carriage returns, escape sequences and npx's spinner. */
function plain(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
  return text.replace(/\x1B\[[0-9;?]*[A-Za-z]|[\u2800-\u28FF]|\r/g, '');
}

/** Where the `index`-th occurrence (0-based) of `what` starts, or -1. */
function nth(text: string, what: string, index: number): number {
  let at = -1;
  for (let i = 0; i <= index; i++) {
    at = text.indexOf(what, at + 1);
    if (at < 0) return -1;
  }
  return at;
}

/** The scratch folders the README's `mktemp -d` made in a run's TMPDIR. */
async function scratch(screen: string): Promise<string[]> {
  const dirs = new Set(
    [...screen.matchAll(/(\/\S+\/arozdfs-readme-[^/\s]+\/tmp\.[\w]+)/g)].map((m) => m[1]!),
  );
  return [...dirs];
}

test('README: the slice and merge quick start runs as written and says identical', {
  skip,
}, async (t: TestContext) => {
  const run = await runAsPerson(t, block('Quick start: slice and merge'));
  t.assert.strictEqual(run.code, 0, run.screen);
  t.assert.match(run.screen, /^identical$/m);
  t.assert.doesNotMatch(run.screen, /EBADENGINE/);
});

test('README: the two-node quick start runs as written: pair, serve, wait, upload, download identical', {
  skip,
}, async (t: TestContext) => {
  const run = await runAsPerson(t, block('Quick start: two paired nodes'));
  t.assert.strictEqual(run.code, 0, run.screen);
  t.assert.match(run.screen, /\balpha\s+online\s+127\.0\.0\.2:7420\b/, 'cluster nodes: alpha online');
  // The file by its index, by its name, and the folder restored.
  t.assert.strictEqual(run.screen.match(/^identical$/gm)?.length, 3, run.screen);
  t.assert.match(run.screen, /^2024\/\s/m, 'ls photos shows the sub-folder');
  t.assert.strictEqual(run.screen.match(/^Stopped\.$/gm)?.length, 2, 'both nodes stopped');
  t.assert.doesNotMatch(run.screen, /EBADENGINE/);
  const [dir] = await scratch(run.screen);
  t.assert.ok(dir !== undefined && (await stat(join(dir, 'big.bin.index.json'))).isFile());
});

test('README: npm run demo runs as written', { skip }, async (t: TestContext) => {
  t.assert.match(README, /^## See it work: `npm run demo`$/m);
  const run = await runAsPerson(t, 'npm run demo\n');
  t.assert.strictEqual(run.code, 0, run.screen);
  t.assert.match(run.screen, /the file still came back identical/);
});

/**
 * A copy of this checkout inside a mode-0700 folder: the sources, and node_modules with the pinned
 * Node binary itself in it (hard-linked when it can be) so that the tests run from there run that
 * path; the other packages are links to this checkout's.
 */
async function lockedCheckout(t: TestContext): Promise<string> {
  const locked = await tmpDir(t, 'arozdfs-0700-'); // mkdtemp: mode 0700
  t.assert.strictEqual((await stat(locked)).mode & 0o777, 0o700);
  const clone = join(locked, 'arozdfs');
  const skipped = new Set(
    ['node_modules', '.git', 'test-artifacts', 'tmp', 'dist', 'lib'].map((n) => join(ROOT, n)),
  );
  await cp(ROOT, clone, { recursive: true, filter: (source) => !skipped.has(source.replace(/\/$/, '')) });
  const modules = join(clone, 'node_modules');
  await mkdir(join(modules, 'node', 'bin'), { recursive: true });
  await mkdir(join(modules, '.bin'));
  for (const name of await readdir(join(ROOT, 'node_modules'))) {
    if (name === 'node' || name === '.bin') continue;
    await symlink(join(ROOT, 'node_modules', name), join(modules, name));
  }
  const binary = join(modules, 'node', 'bin', 'node');
  await link(process.execPath, binary).catch(() => copyFile(process.execPath, binary));
  await copyFile(join(ROOT, 'node_modules', 'node', 'package.json'), join(modules, 'node', 'package.json'));
  await symlink('../node/bin/node', join(modules, '.bin', 'node'));
  return clone;
}

test('a checkout inside a 0700 folder: the permission test and the slice quick start pass there', {
  skip,
}, async (t: TestContext) => {
  const clone = await lockedCheckout(t);
  const node = join(clone, 'node_modules', 'node', 'bin', 'node');
  // Run by a test, node --test would report to this runner instead of printing: NODE_TEST_CONTEXT out.
  const tests = await runProcess(
    'env',
    [
      '-u',
      'NODE_TEST_CONTEXT',
      node,
      '--test',
      '--test-timeout=120000',
      '--test-name-pattern=unreadable',
      join('test', 'cli', 'slice-merge.test.ts'),
    ],
    { cwd: clone, timeoutMs: 120_000 },
  );
  t.assert.strictEqual(tests.code, 0, tests.stdout + tests.stderr);
  t.assert.match(tests.stdout, /^ℹ pass 1$/m);
  const run = await runAsPerson(t, block('Quick start: slice and merge'), clone);
  t.assert.strictEqual(run.code, 0, run.screen);
  t.assert.match(run.screen, /^identical$/m);
});
