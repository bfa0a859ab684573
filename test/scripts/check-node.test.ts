/**
 * `npm test` starts with scripts/check-node.js: on a Node older than 24.12 (what an install with
 * scripts disabled leaves on PATH) it must fail loudly instead of running the tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';

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
