/** The command the CLI's hints tell people to run: the one that works where it was started. */
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { cliCommand, hintCommand, shellWord } from '../../src/cli/invocation.ts';
import { tmpDir } from '../helpers/context.ts';

async function layout(t: TestContext) {
  const dir = await tmpDir(t);
  const root = join(dir, 'checkout');
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'docs'));
  await writeFile(join(root, 'bin', 'arozdfs.js'), '#!/usr/bin/env node\n');
  await chmod(join(root, 'bin', 'arozdfs.js'), 0o755);
  const global = join(dir, 'global-bin');
  await mkdir(global);
  const npmBin = join(dir, 'project', 'node_modules', '.bin');
  await mkdir(npmBin, { recursive: true });
  const other = join(dir, 'other-bin');
  await mkdir(other);
  await writeFile(join(other, 'arozdfs'), '#!/bin/sh\n');
  await chmod(join(other, 'arozdfs'), 0o755);
  return { dir, root, global, npmBin, other };
}

test('hints say "arozdfs" when the first arozdfs on PATH is this installation', async (t: TestContext) => {
  const { dir, root, global } = await layout(t);
  await symlink(join(root, 'bin', 'arozdfs.js'), join(global, 'arozdfs'));
  t.assert.strictEqual(cliCommand({ path: `/nonexistent:${global}`, cwd: dir, root }), 'arozdfs');
  t.assert.strictEqual(cliCommand({ path: global, cwd: root, root }), 'arozdfs');
});

test('hints say "npx arozdfs" inside the checkout when arozdfs is not on PATH', async (t: TestContext) => {
  const { root, npmBin, other } = await layout(t);
  // npm puts node_modules/.bin on PATH for its run only; another arozdfs first on PATH is not this one.
  await symlink(join(root, 'bin', 'arozdfs.js'), join(npmBin, 'arozdfs'));
  for (const path of [undefined, '', npmBin, `${other}:${npmBin}`]) {
    t.assert.strictEqual(cliCommand({ path, cwd: root, root }), 'npx arozdfs');
    t.assert.strictEqual(cliCommand({ path, cwd: join(root, 'docs'), root }), 'npx arozdfs');
  }
});

test('hints say "node <checkout>/bin/arozdfs.js" anywhere else', async (t: TestContext) => {
  const { dir, root } = await layout(t);
  t.assert.strictEqual(cliCommand({ path: '/usr/bin', cwd: dir, root }), `node ${root}/bin/arozdfs.js`);
  const spaced = join(dir, "it's here");
  t.assert.strictEqual(
    cliCommand({ path: '/usr/bin', cwd: dir, root: spaced }),
    `node '${dir}/it'\\''s here/bin/arozdfs.js'`,
  );
});

test('hintCommand names the home unless it is ~/.arozdfs, quoted for a shell', (t: TestContext) => {
  const facts = { path: '', cwd: '/', root: '/opt/arozdfs' };
  t.assert.strictEqual(
    hintCommand(join(homedir(), '.arozdfs'), 'keys show', facts),
    'node /opt/arozdfs/bin/arozdfs.js keys show',
  );
  t.assert.strictEqual(
    hintCommand('/tmp/my home', 'keys show', facts),
    "node /opt/arozdfs/bin/arozdfs.js --home '/tmp/my home' keys show",
  );
  t.assert.strictEqual(shellWord('/srv/a-b_c.d'), '/srv/a-b_c.d');
});
