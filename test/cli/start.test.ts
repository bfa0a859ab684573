import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NodeHome } from '../../src/home/open.ts';
import { teardown, tmpDir } from '../helpers/context.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

test('start (npm start) makes a home on first run, serves, and stops on SIGINT', async (t: TestContext) => {
  const home = join(await tmpDir(t), 'home');
  const child = spawn(
    process.execPath,
    [CLI, '--json', 'start', '--listen', '127.0.0.2:0', '--no-discovery', '--web', 'off'],
    {
      env: { ...process.env, AROZDFS_HOME: home },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  teardown(t).defer(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const types: string[] = [];
  const ready = await new Promise<Record<string, unknown>>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const value = JSON.parse(line) as Record<string, unknown>;
      types.push(String(value['type']));
      if (value['type'] === 'ready') resolve(value);
    });
  });
  const opened = await NodeHome.open(home);
  t.assert.strictEqual(ready['nodeUuid'], opened.config.nodeUuid);
  t.assert.match(String(ready['listen']), /^127\.0\.0\.2:\d+$/);
  child.kill('SIGINT');
  t.assert.strictEqual(await exited, 0);
  t.assert.deepStrictEqual(types, ['initialized', 'ready', 'result']);
});
