/**
 * `npm test` starts with scripts/check-node.js: on a Node older than 24.12 (what an install with
 * scripts disabled leaves on PATH) it must fail loudly instead of running the tests. And npm on an
 * older Node installs and runs the project without EBADENGINE warnings: package.json's `engines` says
 * what the launcher needs (any Node npm runs on), not the pinned Node 24 that does the work.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { noNpm, ROOT, USER_PATH } from '../helpers/user-shell.ts';

const SCRIPT = fileURLToPath(new URL('../../scripts/check-node.js', import.meta.url));
const LAUNCHER = fileURLToPath(new URL('../../bin/arozdfs.js', import.meta.url));

/** An installed Node older than 24.12 (the machine's own), if there is one. */
function oldNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
      const [major = 0, minor = 0] = version.slice(1).split('.').map(Number);
      if (major < 24 || (major === 24 && minor < 12)) return candidate;
    } catch {
      // not there
    }
  }
  return undefined;
}

const old = oldNode();

test('the version check passes on the pinned Node', (t: TestContext) => {
  const run = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
  t.assert.strictEqual(run.status, 0);
});

test('the version check fails loudly on an older Node', {
  skip: old === undefined ? 'no Node older than 24.12 is installed here' : false,
}, (t: TestContext) => {
  const run = spawnSync(old!, [SCRIPT], { encoding: 'utf8' });
  t.assert.strictEqual(run.status, 1);
  t.assert.match(run.stderr, /Node >= 24\.12 is needed/);
});

test('the bin launcher on an older Node runs the CLI on the pinned Node', {
  skip: old === undefined ? 'no Node older than 24.12 is installed here' : false,
}, (t: TestContext) => {
  const run = spawnSync(old!, [LAUNCHER, '--version'], { encoding: 'utf8' });
  t.assert.strictEqual(run.status, 0, run.stderr);
  t.assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
});

/** The lowest version a `>=X[.Y[.Z]]` range admits (the only form this project uses). */
function lowerBound(range: string): number[] {
  const match = /^>=(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range);
  if (match === null) throw new Error(`engines.node ${JSON.stringify(range)} is not of the form >=X.Y.Z`);
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
}

test('engines admits every Node npm 11 runs on (20.17 and later), in package.json and the lockfile', (t: TestContext) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const [major = 0, minor = 0] = lowerBound(pkg.engines.node);
  t.assert.ok(major < 20 || (major === 20 && minor <= 17), `engines.node is ${pkg.engines.node}`);
  t.assert.deepStrictEqual(lock.packages[''].engines, pkg.engines);
});

test('npm ci on an older Node warns of no engine (npm ci --dry-run, offline)', {
  skip: old === undefined ? 'no Node older than 24.12 is installed here' : noNpm,
}, (t: TestContext) => {
  const run = spawnSync('npm', ['ci', '--dry-run', '--offline', '--no-audit', '--no-fund'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${dirname(old!)}:${USER_PATH}` },
    timeout: 60_000,
  });
  t.assert.strictEqual(run.status, 0, run.stderr);
  t.assert.doesNotMatch(run.stdout + run.stderr, /EBADENGINE/);
});
