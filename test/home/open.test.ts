import { chmod, chown, mkdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { NodeHome } from '../../src/home/open.ts';
import { generateKeyPair } from '../../src/keys/rsa.ts';
import { newUuid } from '../../src/uuid.ts';
import { tmpDir } from '../helpers/context.ts';
import { homeTemplate } from '../helpers/homes.ts';
import { testKeyPair } from '../helpers/keys.ts';
import { snapshot } from '../helpers/tree.ts';

const code = (c: string) => (err: unknown) => isArozError(err) && err.code === c;

const template = homeTemplate();
const freshHome = (t: TestContext) => template.copy(t);

test('open refuses a missing home, a home without ADDC, and a file, with their codes', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await writeFile(join(dir, 'file'), 'x');
  await mkdir(join(dir, 'empty'), { mode: 0o700 });
  await t.assert.rejects(NodeHome.open(join(dir, 'missing')), code('ERR_HOME_NOT_FOUND'));
  await t.assert.rejects(NodeHome.open(join(dir, 'empty')), code('ERR_HOME_NOT_FOUND'));
  await t.assert.rejects(NodeHome.open(join(dir, 'file')), code('ERR_NOT_A_DIRECTORY'));
});

test('open refuses a home missing remote/ (ERR_HOME_INVALID) or with an insecure ADDC (ERR_INSECURE_PATH)', async (t: TestContext) => {
  const broken = await freshHome(t);
  await rm(join(broken, 'ADDC/keypairs/remote'), { recursive: true });
  await t.assert.rejects(NodeHome.open(broken), code('ERR_HOME_INVALID'));
  const loose = await freshHome(t);
  await chmod(join(loose, 'ADDC'), 0o777);
  await t.assert.rejects(NodeHome.open(loose), code('ERR_INSECURE_PATH'));
  const foreign = await freshHome(t);
  await chown(join(foreign, 'ADDC/keypairs'), 65534, 65534);
  await t.assert.rejects(NodeHome.open(foreign), code('ERR_INSECURE_PATH'));
});

test('the active key is refused when its private file is readable by others, a symlink, or foreign', async (t: TestContext) => {
  for (const spoil of ['chmod 640', 'chmod 604', 'symlink', 'chown'] as const) {
    const home = await freshHome(t);
    const opened = await NodeHome.open(home);
    const file = opened.keys.privatePath(opened.config.activeKey);
    if (spoil === 'chmod 640') await chmod(file, 0o640);
    if (spoil === 'chmod 604') await chmod(file, 0o604);
    if (spoil === 'chown') await chown(file, 65534, 65534);
    if (spoil === 'symlink') {
      const moved = join(home, 'moved_rsa');
      await writeFile(moved, await readFile(file), { mode: 0o600 });
      await rm(file);
      await symlink(moved, file);
    }
    await t.assert.rejects(opened.activeKeyPair(), code('ERR_INSECURE_PATH'), spoil);
    await t.assert.rejects(opened.keys.list(), code('ERR_INSECURE_PATH'), spoil);
  }
});

test('setActiveKey switches node.json to another complete key pair; unknown keys are ERR_KEY_NOT_FOUND', async (t: TestContext) => {
  const home = await freshHome(t);
  const opened = await NodeHome.open(home);
  const first = opened.config.activeKey;
  const pair = await testKeyPair(1);
  await opened.keys.save(pair);
  await opened.setActiveKey(pair.keyUuid);
  const again = await NodeHome.open(home);
  t.assert.strictEqual(again.config.activeKey, pair.keyUuid);
  t.assert.strictEqual((await again.activeKeyPair()).fingerprint, pair.fingerprint);
  t.assert.deepStrictEqual(
    (await again.keys.list()).map((k) => k.keyUuid).sort(),
    [first, pair.keyUuid].sort(),
  );
  const before = await snapshot(home);
  await t.assert.rejects(again.setActiveKey(newUuid()), code('ERR_KEY_NOT_FOUND'));
  t.assert.deepStrictEqual(await snapshot(home), before);
});

test('indexSigners holds own keys (active and retired) and every pinned peer key', async (t: TestContext) => {
  const home = await freshHome(t);
  const opened = await NodeHome.open(home);
  const retired = await generateKeyPair(3072);
  await opened.keys.save(retired);
  const peer = await testKeyPair(2);
  const peerUuid = newUuid();
  await opened.addPeer(await opened.trustStore(), { nodeUuid: peerUuid, key: peer, label: 'beta' }, 'cli');
  const signers = await opened.indexSigners();
  t.assert.deepStrictEqual(
    signers.map((s) => s.owner).sort(),
    [opened.config.nodeUuid, opened.config.nodeUuid, peerUuid].sort(),
  );
  t.assert.ok(signers.some((s) => s.fingerprint === retired.fingerprint));
  const log = (await readFile(opened.paths.auditLog, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.assert.deepStrictEqual(log.at(-1), {
    ...log.at(-1),
    action: 'trust',
    nodeUuid: peerUuid,
    fingerprint: peer.fingerprint,
    from: 'cli',
  });
});

test('open removes temp files and init folders older than ten minutes, and keeps younger ones', async (t: TestContext) => {
  const home = await freshHome(t);
  const old = new Date(Date.now() - 3600_000);
  const stale = [
    join(home, 'ADDC/keypairs/.x_rsa.abc.arozdfs-tmp'),
    join(home, 'ADDC/keypairs/remote/.y.abc.arozdfs-tmp'),
  ];
  for (const file of stale) {
    await writeFile(file, 'partial');
    await utimes(file, old, old);
  }
  const staleInit = join(home, '.ADDC.0123456789ab.arozdfs-tmp');
  await mkdir(join(staleInit, 'keypairs'), { recursive: true });
  await utimes(staleInit, old, old);
  const young = join(home, 'ADDC/.node.json.def.arozdfs-tmp');
  await writeFile(young, 'being written');
  await NodeHome.open(home);
  const names = Object.keys(await snapshot(home));
  t.assert.ok(!names.some((n) => n.includes('.abc.') || n.startsWith('.ADDC.')), names.join(', '));
  t.assert.ok(names.includes('ADDC/.node.json.def.arozdfs-tmp'));
});
