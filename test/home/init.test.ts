import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { initHome } from '../../src/home/init.ts';
import { NodeHome } from '../../src/home/open.ts';
import { isUuid } from '../../src/uuid.ts';
import { tmpDir } from '../helpers/context.ts';
import { snapshot } from '../helpers/tree.ts';

const code = (c: string) => (err: unknown) => isArozError(err) && err.code === c;
const mode = async (path: string) => (await stat(path)).mode & 0o777;

test('initHome makes ADDC with node.json, an active key pair and an empty remote/, all private', async (t: TestContext) => {
  const home = join(await tmpDir(t), 'home');
  const { paths, config, keyPair } = await initHome(home, { name: 'alpha' });
  t.assert.ok(isUuid(config.nodeUuid));
  t.assert.strictEqual(config.name, 'alpha');
  t.assert.strictEqual(config.activeKey, keyPair.keyUuid);
  const tree = await snapshot(home);
  const k = keyPair.keyUuid;
  t.assert.deepStrictEqual(Object.keys(tree).sort(), [
    '.',
    'ADDC',
    'ADDC/audit.log',
    'ADDC/keypairs',
    `ADDC/keypairs/${k}_rsa`,
    `ADDC/keypairs/${k}_rsa.pub`,
    'ADDC/keypairs/keys.json',
    'ADDC/keypairs/remote',
    'ADDC/node.json',
  ]);
  for (const dir of [home, paths.addc, paths.keypairs, paths.remote])
    t.assert.strictEqual(await mode(dir), 0o700, dir);
  for (const file of [
    'ADDC/node.json',
    `ADDC/keypairs/${k}_rsa`,
    `ADDC/keypairs/${k}_rsa.pub`,
    'ADDC/audit.log',
  ]) {
    t.assert.strictEqual(await mode(join(home, file)), 0o600, file);
  }
  t.assert.match(await readFile(join(paths.keypairs, `${k}_rsa`), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
  t.assert.match(
    await readFile(join(paths.keypairs, `${k}_rsa.pub`), 'utf8'),
    /^-----BEGIN PUBLIC KEY-----\n/,
  );
  const opened = await NodeHome.open(home);
  t.assert.deepStrictEqual(opened.config, config);
  t.assert.strictEqual((await opened.activeKeyPair()).fingerprint, keyPair.fingerprint);
  const audit = JSON.parse(await readFile(paths.auditLog, 'utf8')) as Record<string, unknown>;
  t.assert.strictEqual(audit['action'], 'key-generate');
});

test('initHome on an existing home refuses with ERR_HOME_EXISTS and changes nothing', async (t: TestContext) => {
  const home = join(await tmpDir(t), 'home');
  await initHome(home, { name: 'alpha' });
  const before = await snapshot(home);
  await t.assert.rejects(initHome(home, { name: 'again' }), code('ERR_HOME_EXISTS'));
  t.assert.deepStrictEqual(await snapshot(home), before);
});

test('of two inits racing on one home exactly one succeeds and the home is whole', async (t: TestContext) => {
  const home = join(await tmpDir(t), 'home');
  const results = await Promise.allSettled([
    initHome(home, { name: 'one' }),
    initHome(home, { name: 'two' }),
  ]);
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r) => r.status === 'rejected');
  t.assert.strictEqual(won.length, 1);
  t.assert.ok(code('ERR_HOME_EXISTS')(lost[0]?.reason));
  const opened = await NodeHome.open(home);
  t.assert.strictEqual(opened.config.nodeUuid, won[0]?.value.config.nodeUuid);
  await opened.activeKeyPair();
  t.assert.deepStrictEqual(
    Object.keys(await snapshot(home)).filter((p) => !p.startsWith('ADDC')),
    ['.'],
  );
});

test('initHome refuses a home that is a file, or group-writable, and writes nothing', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'file');
  await writeFile(file, 'x');
  const open = join(dir, 'open');
  await mkdir(open);
  await chmod(open, 0o770);
  const before = await snapshot(dir);
  await t.assert.rejects(initHome(file), code('ERR_NOT_A_DIRECTORY'));
  await t.assert.rejects(initHome(join(file, 'home')), code('ERR_NOT_A_DIRECTORY'));
  await t.assert.rejects(initHome(open), code('ERR_INSECURE_PATH'));
  t.assert.deepStrictEqual(await snapshot(dir), before);
});

test('initHome refuses a bad name or key size before touching the disk', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const home = join(dir, 'home');
  await t.assert.rejects(initHome(home, { name: 'bad\u001b[31mname' }), code('ERR_USAGE'));
  await t.assert.rejects(initHome(home, { name: '<script>' }), code('ERR_USAGE'));
  await t.assert.rejects(initHome(home, { name: 'x'.repeat(65) }), code('ERR_USAGE'));
  await t.assert.rejects(initHome(home, { bits: 2048 }), code('ERR_KEY_UNSUPPORTED'));
  t.assert.deepStrictEqual(Object.keys(await snapshot(dir)), ['.']);
});
