import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { controlCall, daemonRunning } from '../../src/control/client.ts';
import { controlSocketPath } from '../../src/control/paths.ts';
import { ControlServer } from '../../src/control/server.ts';
import { ArozError, isArozError } from '../../src/errors.ts';
import { teardown, tmpDir } from '../helpers/context.ts';

async function startControl(t: TestContext, home: string) {
  const server = new ControlServer(home, {
    'GET /v1/ping': async () => ({ pong: true }),
    'POST /v1/echo': async ({ body }) => ({ body }),
    'DELETE /v1/things/*': async ({ param }) => ({ removed: param }),
    'POST /v1/fail': async () => {
      throw new ArozError('ERR_PEER_NOT_FOUND', 'No such peer');
    },
    'POST /v1/stream': async ({ send }) => {
      for (let i = 0; i < 3; i++) send({ type: 'progress', i });
      send({ type: 'result', ok: true });
      return undefined;
    },
  });
  teardown(t).defer(() => server.close());
  await server.start();
  return server;
}

test('the control socket answers routes, path parameters and streamed lines', async (t: TestContext) => {
  const home = await tmpDir(t);
  await startControl(t, home);
  t.assert.deepStrictEqual(await controlCall(home, 'GET', '/v1/ping'), { pong: true });
  t.assert.deepStrictEqual(await controlCall(home, 'POST', '/v1/echo', { a: [1] }), { body: { a: [1] } });
  t.assert.deepStrictEqual(await controlCall(home, 'DELETE', '/v1/things/abc'), { removed: 'abc' });
  const lines: unknown[] = [];
  const last = await controlCall(home, 'POST', '/v1/stream', undefined, { onLine: (l) => lines.push(l) });
  t.assert.strictEqual(lines.length, 4);
  t.assert.deepStrictEqual(last, { type: 'result', ok: true });
});

test('errors cross the control socket with their codes', async (t: TestContext) => {
  const home = await tmpDir(t);
  await startControl(t, home);
  await t.assert.rejects(controlCall(home, 'POST', '/v1/fail'), (err) =>
    isArozError(err, 'ERR_PEER_NOT_FOUND'),
  );
  await t.assert.rejects(controlCall(home, 'GET', '/v1/nope'), (err) =>
    isArozError(err, 'ERR_ROUTE_NOT_FOUND'),
  );
});

test('the socket is 0600 in a 0700 folder', async (t: TestContext) => {
  const home = await tmpDir(t);
  const server = await startControl(t, home);
  t.assert.strictEqual((await stat(server.path)).mode & 0o777, 0o600);
  t.assert.strictEqual((await stat(join(home, 'run'))).mode & 0o777, 0o700);
});

test('a second daemon on the same home is refused', async (t: TestContext) => {
  const home = await tmpDir(t);
  await startControl(t, home);
  const second = new ControlServer(home, {});
  teardown(t).defer(() => second.close());
  await t.assert.rejects(second.start(), (err) => isArozError(err, 'ERR_DAEMON_RUNNING'));
  t.assert.strictEqual(await daemonRunning(home), true);
});

test('a stale socket left by a killed daemon is replaced', async (t: TestContext) => {
  const home = await tmpDir(t);
  const path = controlSocketPath(home);
  const script = `require('fs').mkdirSync(${JSON.stringify(join(home, 'run'))});require('net').createServer().listen(${JSON.stringify(path)},()=>console.log('up'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout.once('data', r));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.assert.ok((await stat(path)).isSocket(), 'the stale socket file is still there');
  t.assert.strictEqual(await daemonRunning(home), false);
  await startControl(t, home);
  t.assert.deepStrictEqual(await controlCall(home, 'GET', '/v1/ping'), { pong: true });
});

test('a home whose socket path is too long uses $XDG_RUNTIME_DIR, or says what to do', (t: TestContext) => {
  const home = `/tmp/${'h'.repeat(120)}`;
  t.assert.match(
    controlSocketPath(home, { XDG_RUNTIME_DIR: '/run/user/0' }),
    /^\/run\/user\/0\/arozdfs-[0-9a-f]{16}\.sock$/,
  );
  t.assert.throws(
    () => controlSocketPath(home, {}),
    (err) => isArozError(err, 'ERR_SOCKET_PATH'),
  );
});
