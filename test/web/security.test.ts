/**
 * The web UI's security rules (docs/web.md "Security"), each against a real daemon's web server
 * over real sockets: setup token, password file, cookies, CSRF, Host and Origin checks, headers,
 * rate limit, re-authentication for trust changes, the audit log, body caps.
 */
import { once } from 'node:events';
import { readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { groupFingerprint } from '../../src/keys/fingerprint.ts';
import { formatPairing } from '../../src/keys/pairing.ts';
import { getJson } from '../../src/transport/client.ts';
import { FAILURE_WINDOW_MS, MAX_FAILURES } from '../../src/web/auth.ts';
import { hostAllowed, isLoopback, originAllowed } from '../../src/web/guard.ts';
import { MAX_CONNECTIONS_PER_SOURCE, MODULES } from '../../src/web/server.ts';
import { startTestnet, testnetTemplates } from '../helpers/testnet.ts';
import { PASSWORD, WebClient } from '../helpers/web.ts';

const templates = testnetTemplates(2);

async function oneNode(t: TestContext, web: { tls?: boolean } = {}) {
  const [home] = await templates.homes(t);
  const [node] = await startTestnet(t, [home!], { web: { address: '', ...web } });
  return node!;
}

async function auditLines(home: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(home, 'ADDC', 'audit.log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

test('the admin password is set only with the one-time setup token, stored as scrypt', async (t: TestContext) => {
  const node = await oneNode(t);
  const web = WebClient.of(node.daemon);
  const session = await web.get('/api/session');
  t.assert.deepStrictEqual(
    { passwordSet: session.json.passwordSet, loggedIn: session.json.loggedIn, csrf: session.json.csrf },
    { passwordSet: false, loggedIn: false, csrf: null },
  );
  const wrong = await web.post('/api/setup', { token: 'guessed', password: PASSWORD });
  t.assert.strictEqual(wrong.json.error.code, 'ERR_WEB_SETUP_TOKEN');
  const token = node.daemon.web?.auth.setupToken;
  const short = await web.post('/api/setup', { token, password: 'short' });
  t.assert.strictEqual(short.json.error.code, 'ERR_BAD_REQUEST');
  t.assert.strictEqual(node.daemon.web?.auth.setupToken, token, 'a refused password keeps the token');
  const login = await web.post('/api/login', { password: PASSWORD });
  t.assert.strictEqual(login.json.error.code, 'ERR_WEB_LOGIN_REQUIRED');

  const ok = await web.post('/api/setup', { token, password: PASSWORD });
  t.assert.strictEqual(ok.status, 200);
  const cookie = ok.headers['set-cookie']?.[0] ?? '';
  t.assert.match(
    cookie,
    new RegExp(`^arozdfs-${node.uuid}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/`),
  );
  t.assert.doesNotMatch(cookie, /Secure/);
  t.assert.strictEqual(node.daemon.web?.auth.setupToken, undefined);

  const again = await new WebClient(node.daemon.web!.url()).post('/api/setup', {
    token,
    password: 'x'.repeat(12),
  });
  t.assert.strictEqual(again.json.error.code, 'ERR_WEB_PASSWORD_SET');

  const file = join(node.home, 'ADDC', 'web-admin.json');
  t.assert.strictEqual((await stat(file)).mode & 0o777, 0o600);
  const stored = await readFile(file, 'utf8');
  t.assert.strictEqual(stored.includes(PASSWORD), false);
  t.assert.strictEqual(JSON.parse(stored).scheme, 'scrypt');
  t.assert.ok(
    (await auditLines(node.home)).some((l) => l['action'] === 'web-password-set' && l['from'] === 'web'),
  );
});

test('API routes need a session, and every change needs the CSRF token', async (t: TestContext) => {
  const node = await oneNode(t);
  const web = WebClient.of(node.daemon);
  t.assert.strictEqual((await web.get('/api/host')).json.error.code, 'ERR_WEB_LOGIN_REQUIRED');
  await web.setup(node.daemon);
  const host = await web.get('/api/host');
  t.assert.strictEqual(host.json.nodeUuid, node.uuid);
  t.assert.strictEqual(host.json.fingerprintGrouped, groupFingerprint(host.json.fingerprint));

  const noCsrf = await web.post('/api/keys', { bits: 3072 }, { noCsrf: true });
  t.assert.strictEqual(noCsrf.status, 403);
  t.assert.strictEqual(noCsrf.json.error.code, 'ERR_WEB_FORBIDDEN');
  const badCsrf = await web.post(
    '/api/keys',
    { bits: 3072 },
    { headers: { 'x-csrf-token': 'x'.repeat(43) } },
  );
  t.assert.strictEqual(badCsrf.json.error.code, 'ERR_WEB_FORBIDDEN');
  t.assert.strictEqual((await node.daemon.home.keys.list()).length, 1, 'no key was made');

  const other = new WebClient(node.daemon.web!.url());
  other.csrf = web.csrf;
  t.assert.strictEqual(
    (await other.post('/api/keys', { bits: 3072 })).json.error.code,
    'ERR_WEB_LOGIN_REQUIRED',
  );

  const logout = await web.post('/api/logout');
  t.assert.match(logout.headers['set-cookie']?.[0] ?? '', /Max-Age=0/);
  t.assert.strictEqual(web.cookie, undefined);
});

test('a foreign Host header is refused (DNS rebinding), and so is a foreign Origin', async (t: TestContext) => {
  const node = await oneNode(t);
  const web = WebClient.of(node.daemon);
  const port = web.url.port;
  for (const host of [
    `evil.example:${port}`,
    `127.0.0.2:${Number(port) + 1}`,
    'evil.example',
    'a b',
    `127.0.0.2:${port}:1`,
  ]) {
    const answer = await web.get('/', { headers: { host } });
    t.assert.strictEqual(answer.status, 403, host);
    t.assert.strictEqual(answer.json.error.code, 'ERR_WEB_FORBIDDEN');
  }
  t.assert.strictEqual((await web.get('/', { headers: { host: `localhost:${port}` } })).status, 200);

  const token = node.daemon.web?.auth.setupToken;
  const body = { token, password: PASSWORD };
  const foreign = await web.post('/api/setup', body, { headers: { origin: 'http://evil.example' } });
  t.assert.strictEqual(foreign.json.error.code, 'ERR_WEB_FORBIDDEN');
  const none = await web.post('/api/setup', body, { noOrigin: true });
  t.assert.strictEqual(none.json.error.code, 'ERR_WEB_FORBIDDEN');
  const crossSite = await web.get('/api/session', { headers: { 'sec-fetch-site': 'cross-site' } });
  t.assert.strictEqual(crossSite.json.error.code, 'ERR_WEB_FORBIDDEN');
  t.assert.strictEqual(node.daemon.web?.auth.passwordSet, false, 'none of them set the password');
  t.assert.strictEqual((await web.post('/api/setup', body)).status, 200);
});

test('Host and Origin rules', (t: TestContext) => {
  const loop = { bound: '127.0.0.1', port: 7421, tls: false, machine: 'nas' };
  t.assert.strictEqual(hostAllowed('127.0.0.1:7421', loop), true);
  t.assert.strictEqual(hostAllowed('LOCALHOST:7421', loop), true);
  t.assert.strictEqual(hostAllowed('[::1]:7421', loop), true);
  t.assert.strictEqual(
    hostAllowed('192.168.1.5:7421', loop),
    false,
    'a loopback bind answers loopback names only',
  );
  t.assert.strictEqual(hostAllowed('nas:7421', loop), false);
  t.assert.strictEqual(hostAllowed(undefined, loop), false);
  t.assert.strictEqual(hostAllowed('127.0.0.1:7421@evil', loop), false);
  const lan = { bound: '0.0.0.0', port: 7421, tls: true, machine: 'nas' };
  t.assert.strictEqual(hostAllowed('192.168.1.5:7421', lan), true);
  t.assert.strictEqual(hostAllowed('nas.local:7421', lan), true);
  t.assert.strictEqual(hostAllowed('NAS:7421', lan), true);
  t.assert.strictEqual(hostAllowed('rebind.evil.example:7421', lan), false);
  t.assert.strictEqual(hostAllowed('192.168.1.5:80', lan), false);
  t.assert.strictEqual(isLoopback('127.8.9.10'), true);
  t.assert.strictEqual(isLoopback('0.0.0.0'), false, 'a wildcard bind is not loopback: it needs TLS');
  t.assert.strictEqual(isLoopback('192.168.1.5'), false);
  const own = 'http://127.0.0.1:7421';
  t.assert.strictEqual(originAllowed('POST', { origin: own }, own), true);
  t.assert.strictEqual(originAllowed('POST', {}, own), false);
  t.assert.strictEqual(originAllowed('DELETE', { origin: 'null' }, own), false);
  t.assert.strictEqual(originAllowed('GET', {}, own), true);
  t.assert.strictEqual(originAllowed('GET', { origin: 'http://evil.example' }, own), false);
  t.assert.strictEqual(originAllowed('GET', { 'sec-fetch-site': 'cross-site' }, own), false);
});

test('every answer carries the CSP and the other security headers; the page has no inline script', async (t: TestContext) => {
  const node = await oneNode(t);
  const web = WebClient.of(node.daemon);
  for (const path of ['/', '/app.js', '/app.css', '/api/session', '/nothing']) {
    const answer = await web.get(path);
    const csp = String(answer.headers['content-security-policy']);
    t.assert.match(csp, /frame-ancestors 'none'/, path);
    t.assert.match(csp, /script-src 'self'(;|$)/, path);
    t.assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
    t.assert.strictEqual(answer.headers['x-frame-options'], 'DENY');
    t.assert.strictEqual(answer.headers['x-content-type-options'], 'nosniff');
  }
  const page = (await web.get('/')).body.toString('utf8');
  const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
  t.assert.ok(scripts.length > 0);
  for (const [, attrs, inner] of scripts) {
    t.assert.match(attrs ?? '', /\bsrc="\/app\.js"/);
    t.assert.strictEqual(inner?.trim(), '');
  }
  t.assert.doesNotMatch(page, /\son[a-z]+=|style="/i, 'no inline handlers or styles');
  // Every module of the page: served from this origin, never markup from strings, under 500 lines.
  for (const name of MODULES) {
    const answer = await web.get(`/${name}.js`);
    t.assert.strictEqual(answer.status, 200, name);
    t.assert.match(String(answer.headers['content-type']), /^text\/javascript/);
    const script = answer.body.toString('utf8');
    t.assert.doesNotMatch(script, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/, name);
    t.assert.ok(script.split('\n').length < 500, `${name}.js has ${script.split('\n').length} lines`);
    for (const [, from] of script.matchAll(/^import .* from '([^']+)';$/gm)) {
      t.assert.match(from ?? '', /^\.\/[a-z]+\.js$/, `${name}.js imports only the page's own modules`);
    }
  }
  t.assert.strictEqual((await web.get('/nothing')).json.error.code, 'ERR_NOT_FOUND');
});

test('failed logins are limited per address, counted in the audit log', async (t: TestContext) => {
  const node = await oneNode(t);
  const web = WebClient.of(node.daemon);
  await web.setup(node.daemon);
  const other = new WebClient(node.daemon.web!.url());
  for (let i = 0; i < MAX_FAILURES; i++) {
    t.assert.strictEqual((await other.login('wrong password')).json.error.code, 'ERR_WEB_PASSWORD');
  }
  const limited = await other.login(PASSWORD);
  t.assert.strictEqual(limited.status, 429);
  t.assert.strictEqual(limited.json.error.code, 'ERR_WEB_RATE_LIMITED');
  const retry = Number(limited.headers['retry-after']);
  t.assert.ok(retry > 0 && retry <= FAILURE_WINDOW_MS / 1000, String(retry));
  const failed = (await auditLines(node.home)).filter((l) => l['action'] === 'web-login-failed');
  t.assert.strictEqual(failed.length, MAX_FAILURES);
  t.assert.strictEqual(failed[0]?.['client'], '127.0.0.1');
});

test('trusting and removing a key need the password again, and are audited', async (t: TestContext) => {
  const [homeA, homeB] = await templates.homes(t);
  const [a, b] = await startTestnet(t, [homeA!, homeB!], { web: { address: '' } });
  const web = WebClient.of(a!.daemon);
  await web.setup(a!.daemon);
  const key = await b!.daemon.home.activeKeyPair();
  const pairing = formatPairing(b!.uuid, key, '<script>alert(1)</script>');

  const preview = await web.post('/api/pairing/preview', { pairing });
  t.assert.deepStrictEqual(
    {
      uuid: preview.json.nodeUuid,
      label: preview.json.label,
      fp: preview.json.fingerprint,
      trusted: preview.json.trusted,
    },
    { uuid: b!.uuid, label: 'scriptalert(1)/script', fp: key.fingerprint, trusted: 'no' }, // < > are dropped
  );
  const noPassword = await web.post('/api/peers', { pairing });
  t.assert.strictEqual(noPassword.json.error.code, 'ERR_WEB_PASSWORD');
  const wrong = await web.post('/api/peers', { pairing, password: 'not the password' });
  t.assert.strictEqual(wrong.json.error.code, 'ERR_WEB_PASSWORD');
  t.assert.strictEqual(a!.daemon.trust.get(b!.uuid), undefined, 'nothing trusted without the password');

  const added = await web.post('/api/peers', { pairing, password: PASSWORD });
  t.assert.strictEqual(added.json.added, true);
  t.assert.strictEqual(a!.daemon.trust.get(b!.uuid)?.fingerprint, key.fingerprint);
  const listed = await web.get('/api/peers');
  t.assert.strictEqual(listed.json.peers[0].pairing, 'one-way', 'b does not trust a yet');
  // B stops: a probe now reaches nobody, and the page keeps the last verdict instead of flickering.
  await b!.daemon.close();
  t.assert.strictEqual((await web.get('/api/peers')).json.peers[0].pairing, 'one-way');

  const remove = (body: unknown) => web.request('DELETE', `/api/peers/${b!.uuid}`, { body });
  t.assert.strictEqual((await remove({})).json.error.code, 'ERR_WEB_PASSWORD');
  t.assert.notStrictEqual(a!.daemon.trust.get(b!.uuid), undefined);
  t.assert.strictEqual((await remove({ password: PASSWORD })).status, 200);
  t.assert.strictEqual(a!.daemon.trust.get(b!.uuid), undefined);

  const lines = await auditLines(a!.home);
  t.assert.ok(lines.some((l) => l['action'] === 'trust' && l['from'] === 'web' && l['nodeUuid'] === b!.uuid));
  t.assert.ok(
    lines.some((l) => l['action'] === 'revoke' && l['from'] === 'web' && l['nodeUuid'] === b!.uuid),
  );
});

test('bodies are capped and must be JSON', async (t: TestContext) => {
  const node = await oneNode(t);
  const web = WebClient.of(node.daemon);
  await web.setup(node.daemon);
  const big = await web.request('POST', '/api/pairing/preview', {
    raw: Buffer.alloc(70 * 1024, 0x61),
    headers: { 'content-type': 'application/json' },
  });
  t.assert.strictEqual(big.status, 413);
  t.assert.strictEqual(big.json.error.code, 'ERR_TOO_LARGE');
  const form = await web.request('POST', '/api/pairing/preview', {
    raw: Buffer.from('pairing=x'),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.assert.strictEqual(form.json.error.code, 'ERR_BAD_REQUEST');
  const garbage = await web.request('POST', '/api/pairing/preview', {
    raw: Buffer.from('{"pairing":'),
    headers: { 'content-type': 'application/json' },
  });
  t.assert.strictEqual(garbage.json.error.code, 'ERR_BAD_REQUEST');
  const notPairing = await web.post('/api/pairing/preview', { pairing: 'hello' });
  t.assert.strictEqual(notPairing.json.error.code, 'ERR_PAIRING_INVALID');
});

test('HTTPS: the certificate serve reports is the one presented; the cookie is Secure and __Host-', async (t: TestContext) => {
  const node = await oneNode(t, { tls: true });
  const server = node.daemon.web!;
  t.assert.match(server.url(), /^https:\/\//);
  const { connect } = await import('node:tls');
  const presented = await new Promise<string>((resolve, reject) => {
    const s = connect({ host: node.host, port: server.address().port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
      s.destroy();
    });
    s.on('error', reject);
  });
  t.assert.strictEqual(presented, server.certificateFingerprint);
  const web = WebClient.of(node.daemon);
  const ok = await web.setup(node.daemon);
  t.assert.match(ok.headers['set-cookie']?.[0] ?? '', new RegExp(`^__Host-arozdfs-${node.uuid}=.*; Secure$`));
  t.assert.strictEqual(ok.headers['strict-transport-security'], 'max-age=31536000');
  t.assert.strictEqual((await web.get('/api/host')).json.nodeUuid, node.uuid);
});

test('two nodes on one host never share a login; the cluster port serves no UI', async (t: TestContext) => {
  const [homeA, homeB] = await templates.homes(t);
  const [a, b] = await startTestnet(t, [homeA!, homeB!], { web: { address: '' } });
  const webA = WebClient.of(a!.daemon);
  await webA.setup(a!.daemon);
  const webB = WebClient.of(b!.daemon);
  await webB.setup(b!.daemon);
  t.assert.notStrictEqual(a!.daemon.web?.cookieName, b!.daemon.web?.cookieName);
  const borrowed = await webB.get('/api/host', { headers: { cookie: webA.cookie } });
  t.assert.strictEqual(borrowed.json.error.code, 'ERR_WEB_LOGIN_REQUIRED');

  const { pairAll } = await import('../helpers/testnet.ts');
  await pairAll([homeA!, homeB!]);
  await a!.daemon.reloadTrust();
  await b!.daemon.reloadTrust();
  const session = await a!.daemon.pool.session(b!.uuid);
  for (const path of ['/', '/api/session', '/app.js']) {
    await t.assert.rejects(getJson(session, path, b!.uuid), { code: 'ERR_ROUTE_NOT_FOUND' }, path);
  }
});

test('changing the password needs the current one and ends every other session', async (t: TestContext) => {
  const node = await oneNode(t);
  const web = WebClient.of(node.daemon);
  await web.setup(node.daemon);
  const other = new WebClient(node.daemon.web!.url());
  await other.login();
  const NEW = 'another long password';
  const wrong = await web.post('/api/password', { password: 'not it', newPassword: NEW });
  t.assert.strictEqual(wrong.json.error.code, 'ERR_WEB_PASSWORD');
  const short = await web.post('/api/password', { password: PASSWORD, newPassword: 'short' });
  t.assert.strictEqual(short.json.error.code, 'ERR_BAD_REQUEST');
  t.assert.strictEqual((await other.get('/api/host')).status, 200, 'nothing changed yet');

  const changed = await web.post('/api/password', { password: PASSWORD, newPassword: NEW });
  t.assert.strictEqual(changed.status, 200);
  web.csrf = changed.json.csrf;
  t.assert.strictEqual((await web.get('/api/host')).status, 200, 'this browser stays logged in');
  t.assert.strictEqual((await other.get('/api/host')).json.error.code, 'ERR_WEB_LOGIN_REQUIRED');
  t.assert.strictEqual((await other.login(PASSWORD)).json.error.code, 'ERR_WEB_PASSWORD');
  t.assert.strictEqual((await other.login(NEW)).status, 200);
  const sets = (await auditLines(node.home)).filter((l) => l['action'] === 'web-password-set');
  t.assert.strictEqual(sets.length, 2);
});

test('one client address cannot hold every connection: another address is still served', async (t: TestContext) => {
  const node = await oneNode(t);
  const url = new URL(node.daemon.web!.url());
  const port = Number(url.port);
  const silent: Socket[] = [];
  t.after(() => {
    for (const socket of silent) socket.destroy();
  });
  const open = async () => {
    const socket = connect({ host: url.hostname, port, localAddress: '127.0.0.77' });
    socket.on('error', () => {});
    silent.push(socket);
    await once(socket, 'connect');
    return socket;
  };
  for (let k = 0; k < MAX_CONNECTIONS_PER_SOURCE; k++) await open();
  const extra = await open();
  await once(extra, 'close'); // the server closes the one over the cap, without a deadline of ours
  const answer = await new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port,
        path: '/api/session',
        localAddress: '127.0.0.78',
        headers: { host: url.host },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
  t.assert.strictEqual(answer, 200);
});

test('GET /api/session names the real password file; deleting it with the node stopped resets the password', async (t: TestContext) => {
  const node = await oneNode(t);
  const web = WebClient.of(node.daemon);
  await web.setup(node.daemon);
  const file = join(node.home, 'ADDC', 'web-admin.json');
  const session = await new WebClient(node.daemon.web!.url()).get('/api/session');
  t.assert.strictEqual(session.json.passwordFile, file, 'the login page can show the real path');
  t.assert.strictEqual((await stat(file)).isFile(), true);
  // What the login page says: stop the node, delete that file, start it again.
  await node.daemon.close();
  await rm(session.json.passwordFile);
  const [again] = await startTestnet(t, [node.home], { web: { address: '' } });
  t.assert.match(String(again!.daemon.web?.auth.setupToken), /^[A-Za-z0-9_-]{43}$/);
  const fresh = await WebClient.of(again!.daemon).get('/api/session');
  t.assert.deepStrictEqual([fresh.json.passwordSet, fresh.json.passwordFile], [false, file]);
});
