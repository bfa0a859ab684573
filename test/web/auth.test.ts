/**
 * WebAuth with a clock the test moves: sessions end after SESSION_MS, failed attempts are forgotten
 * after the window, the setup token is used once, and a damaged password file is refused by name.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { FAILURE_WINDOW_MS, MAX_FAILURES, SESSION_MS, WebAuth } from '../../src/web/auth.ts';
import { tmpDir } from '../helpers/context.ts';

const PASSWORD = 'a long enough password';

async function fresh(t: TestContext) {
  const addc = join(await tmpDir(t), 'ADDC');
  await mkdir(addc, { mode: 0o700 });
  let now = Date.parse('2026-11-26T10:00:00Z');
  const clock = { advance: (ms: number) => (now += ms) };
  const auth = await WebAuth.open(addc, { now: () => now });
  return { addc, auth, clock, reopen: () => WebAuth.open(addc, { now: () => now }) };
}

test('a session ends after SESSION_MS; logout ends it at once', async (t: TestContext) => {
  const { auth, clock } = await fresh(t);
  const session = await auth.setup('127.0.0.1', auth.setupToken, PASSWORD);
  t.assert.strictEqual(auth.session(session.id)?.csrf, session.csrf);
  clock.advance(SESSION_MS - 1);
  t.assert.notStrictEqual(auth.session(session.id), undefined);
  clock.advance(1);
  t.assert.strictEqual(auth.session(session.id), undefined);
  const second = await auth.login('127.0.0.1', PASSWORD);
  auth.logout(second.id);
  t.assert.strictEqual(auth.session(second.id), undefined);
  t.assert.strictEqual(auth.session(undefined), undefined);
  t.assert.strictEqual(WebAuth.csrfMatches(second, second.csrf), true);
  t.assert.strictEqual(WebAuth.csrfMatches(second, `${second.csrf}x`), false);
  t.assert.strictEqual(WebAuth.csrfMatches(second, undefined), false);
});

test('failed attempts are counted per address and forgotten after the window', async (t: TestContext) => {
  const { auth, clock } = await fresh(t);
  await auth.setup('10.0.0.1', auth.setupToken, PASSWORD);
  for (let i = 0; i < MAX_FAILURES; i++) {
    await t.assert.rejects(auth.login('10.0.0.2', 'wrong'), { code: 'ERR_WEB_PASSWORD' });
  }
  await t.assert.rejects(auth.login('10.0.0.2', PASSWORD), { code: 'ERR_WEB_RATE_LIMITED' });
  await auth.login('10.0.0.3', PASSWORD); // another address is not affected
  clock.advance(FAILURE_WINDOW_MS);
  await auth.login('10.0.0.2', PASSWORD);
});

test('the password survives a restart; no setup token is made once it is set', async (t: TestContext) => {
  const { addc, auth, reopen } = await fresh(t);
  const token = auth.setupToken;
  t.assert.match(String(token), /^[A-Za-z0-9_-]{43}$/);
  await t.assert.rejects(auth.setup('127.0.0.1', ` ${token}x`, PASSWORD), { code: 'ERR_WEB_SETUP_TOKEN' });
  await auth.setup('127.0.0.1', ` ${token}\n`, PASSWORD); // pasted with spaces around
  const again = await reopen();
  t.assert.strictEqual(again.passwordSet, true);
  t.assert.strictEqual(again.setupToken, undefined);
  await t.assert.rejects(again.login('127.0.0.1', 'wrong'), { code: 'ERR_WEB_PASSWORD' });
  await again.login('127.0.0.1', PASSWORD);
  t.assert.strictEqual(JSON.parse(await readFile(join(addc, 'web-admin.json'), 'utf8')).N, 2 ** 15);
});

test('a damaged password file is refused, naming it', async (t: TestContext) => {
  const { addc } = await fresh(t);
  for (const text of [
    '{',
    '{"scheme":"plain","hash":"x"}',
    '{"scheme":"scrypt","salt":"a","hash":"b","N":1e9,"r":8,"p":1}',
  ]) {
    await writeFile(join(addc, 'web-admin.json'), text, { mode: 0o600 });
    await t.assert.rejects(WebAuth.open(addc), (err: unknown) => {
      t.assert.ok(isArozError(err, 'ERR_HOME_INVALID'), String(err));
      t.assert.match((err as Error).message, /web-admin\.json/);
      return true;
    });
  }
});

test('attempts sent at once count from their start; a success is not counted', async (t: TestContext) => {
  const { auth } = await fresh(t);
  await auth.setup('10.0.0.1', auth.setupToken, PASSWORD);
  for (let i = 0; i < MAX_FAILURES - 1; i++) {
    await t.assert.rejects(auth.login('10.0.0.2', 'wrong'), { code: 'ERR_WEB_PASSWORD' });
  }
  for (let i = 0; i < 3; i++) await auth.login('10.0.0.2', PASSWORD); // successes leave the count alone
  const burst = await Promise.allSettled(Array.from({ length: 20 }, () => auth.login('10.0.0.2', 'wrong')));
  const codes = burst.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok'));
  t.assert.strictEqual(codes.filter((c) => c === 'ERR_WEB_PASSWORD').length, 1);
  t.assert.strictEqual(codes.filter((c) => c === 'ERR_WEB_RATE_LIMITED').length, 19);
});
