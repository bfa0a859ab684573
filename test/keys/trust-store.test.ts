import { chmod, chown, mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { publicKeyPem } from '../../src/keys/rsa.ts';
import { type PinnedPeer, TrustStore } from '../../src/keys/trust-store.ts';
import { newUuid } from '../../src/uuid.ts';
import { tmpDir } from '../helpers/context.ts';
import { testKeyPair } from '../helpers/keys.ts';
import { snapshot } from '../helpers/tree.ts';

const SELF = newUuid();
const code = (c: string) => (err: unknown) => isArozError(err) && err.code === c;

/** A home-like folder with an empty remote/ (0700) and a trust store over it. */
async function setup(t: TestContext) {
  const root = await tmpDir(t);
  const dir = join(root, 'remote');
  await mkdir(dir, { mode: 0o700 });
  const own = await testKeyPair(0);
  const make = () => new TrustStore(dir, { root, selfUuid: SELF, selfKeys: [own.spkiDer] });
  return { root, dir, own, make, store: await make().load() };
}

test('add pins a key that get, isPinned and list see, and a fresh load finds again', async (t: TestContext) => {
  const { dir, store, make } = await setup(t);
  const key = await testKeyPair(1);
  const peer = newUuid();
  const { added } = await store.add(peer, key, 'beta');
  t.assert.strictEqual(added, true);
  t.assert.strictEqual(store.isPinned(peer, key.spkiDer), true);
  t.assert.strictEqual(store.isPinned(peer, (await testKeyPair(2)).spkiDer), false);
  t.assert.strictEqual(store.isPinned(newUuid(), key.spkiDer), false);
  const again = await make().load();
  t.assert.strictEqual(again.get(peer)?.fingerprint, key.fingerprint);
  t.assert.strictEqual(again.get(peer)?.label, 'beta');
  t.assert.deepStrictEqual(
    again.list().map((p) => p.nodeUuid),
    [peer],
  );
  t.assert.deepStrictEqual(Object.keys(await snapshot(dir)).sort(), ['.', `${peer}.json`, `${peer}_rsa.pub`]);
  t.assert.match((await snapshot(dir))[`${peer}_rsa.pub`] ?? '', /mode=600/);
});

test('adding the same UUID and key again changes nothing and reports added: false', async (t: TestContext) => {
  const { dir, store } = await setup(t);
  const key = await testKeyPair(1);
  const peer = newUuid();
  await store.add(peer, key, 'beta');
  const before = await snapshot(dir);
  t.assert.strictEqual((await store.add(peer, key, 'other label')).added, false);
  t.assert.deepStrictEqual(await snapshot(dir), before);
});

test('add refuses this node itself, a UUID pinned with another key, and a key pinned under another UUID', async (t: TestContext) => {
  const { dir, store, own } = await setup(t);
  const key = await testKeyPair(1);
  const other = await testKeyPair(2);
  const peer = newUuid();
  await store.add(peer, key, 'beta');
  const before = await snapshot(dir);
  await t.assert.rejects(store.add(SELF, other, 'me'), code('ERR_PEER_SELF'));
  await t.assert.rejects(store.add(newUuid(), own, 'my key'), code('ERR_PEER_SELF'));
  await t.assert.rejects(store.add(peer, other, 'new key'), code('ERR_PEER_CONFLICT'));
  await t.assert.rejects(store.add(newUuid(), key, 'same key'), code('ERR_PEER_CONFLICT'));
  await t.assert.rejects(store.add('../../x', other, 'x'), code('ERR_INVALID_UUID'));
  t.assert.deepStrictEqual(await snapshot(dir), before);
});

test('listeners hear added and removed; remove revokes at once', async (t: TestContext) => {
  const { store } = await setup(t);
  const key = await testKeyPair(1);
  const peer = newUuid();
  const heard: string[] = [];
  store.on('added', (p: PinnedPeer) => heard.push(`added ${p.nodeUuid}`));
  store.on('removed', (p: PinnedPeer) => heard.push(`removed ${p.nodeUuid}`));
  await store.add(peer, key, 'beta');
  const removed = await store.remove(peer);
  t.assert.strictEqual(removed.fingerprint, key.fingerprint);
  t.assert.strictEqual(store.isPinned(peer, key.spkiDer), false);
  t.assert.deepStrictEqual(heard, [`added ${peer}`, `removed ${peer}`]);
  await t.assert.rejects(store.remove(peer), code('ERR_PEER_NOT_FOUND'));
});

test('reload notices key files deleted or added by hand and tells the listeners', async (t: TestContext) => {
  const { dir, store } = await setup(t);
  const key = await testKeyPair(1);
  const other = await testKeyPair(2);
  const gone = newUuid();
  const fresh = newUuid();
  await store.add(gone, key, 'beta');
  const heard: string[] = [];
  store.on('added', (p: PinnedPeer) => heard.push(`added ${p.nodeUuid}`));
  store.on('removed', (p: PinnedPeer) => heard.push(`removed ${p.nodeUuid}`));
  await unlink(join(dir, `${gone}_rsa.pub`));
  await writeFile(join(dir, `${fresh}_rsa.pub`), publicKeyPem(other), { mode: 0o600 });
  const changes = await store.reload();
  t.assert.deepStrictEqual(
    changes.removed.map((p) => p.nodeUuid),
    [gone],
  );
  t.assert.deepStrictEqual(
    changes.added.map((p) => p.nodeUuid),
    [fresh],
  );
  t.assert.deepStrictEqual(heard, [`removed ${gone}`, `added ${fresh}`]);
  t.assert.strictEqual(store.isPinned(gone, key.spkiDer), false);
  t.assert.strictEqual(store.isPinned(fresh, other.spkiDer), true);
});

test('load ignores files that are not <canonical-uuid>_rsa.pub', async (t: TestContext) => {
  const { dir, make } = await setup(t);
  const key = await testKeyPair(1);
  await writeFile(join(dir, `${newUuid().toUpperCase()}_rsa.pub`), publicKeyPem(key), { mode: 0o600 });
  await writeFile(join(dir, 'notes.txt'), 'hello', { mode: 0o600 });
  t.assert.deepStrictEqual((await make().load()).list(), []);
});

test('load refuses insecure remote files and folders with ERR_INSECURE_PATH naming the path', async (t: TestContext) => {
  const key = await testKeyPair(1);
  const cases: Array<[string, (dir: string, file: string, root: string) => Promise<string>]> = [
    [
      'a group-writable key file',
      async (_d, file) => {
        await chmod(file, 0o620);
        return file;
      },
    ],
    [
      'a world-writable key file',
      async (_d, file) => {
        await chmod(file, 0o602);
        return file;
      },
    ],
    [
      'a key file owned by another user',
      async (_d, file) => {
        await chown(file, 65534, 65534);
        return file;
      },
    ],
    [
      'a symlinked key file',
      async (dir, file) => {
        const real = join(dir, '..', 'elsewhere.pub');
        await writeFile(real, publicKeyPem(key), { mode: 0o600 });
        await unlink(file);
        await symlink(real, file);
        return file;
      },
    ],
    [
      'a group-writable remote folder',
      async (dir) => {
        await chmod(dir, 0o770);
        return dir;
      },
    ],
    [
      'a remote folder owned by another user',
      async (dir) => {
        await chown(dir, 65534, 65534);
        return dir;
      },
    ],
    [
      'a world-writable root',
      async (_d, _f, root) => {
        await chmod(root, 0o777);
        return root;
      },
    ],
    [
      'a symlinked remote folder',
      async (dir) => {
        const real = `${dir}-real`;
        await mkdir(real, { mode: 0o700 });
        await rm(dir, { recursive: true });
        await symlink(real, dir);
        return dir;
      },
    ],
  ];
  for (const [name, spoil] of cases) {
    await t.test(name, async (t: TestContext) => {
      const { dir, root, make } = await setup(t);
      const file = join(dir, `${newUuid()}_rsa.pub`);
      await writeFile(file, publicKeyPem(key), { mode: 0o600 });
      const path = await spoil(dir, file, root);
      await t.assert.rejects(
        make().load(),
        (err) => code('ERR_INSECURE_PATH')(err) && (err as Error).message.includes(path),
      );
    });
  }
});

test('load refuses a damaged or unsupported key file, and remove still removes it', async (t: TestContext) => {
  const { dir, make } = await setup(t);
  const peer = newUuid();
  await writeFile(join(dir, `${peer}_rsa.pub`), 'garbage', { mode: 0o600 });
  await t.assert.rejects(make().load(), code('ERR_KEY_INVALID'));
  const removed = await make().remove(peer);
  t.assert.strictEqual(removed.fingerprint, undefined);
  t.assert.deepStrictEqual((await make().load()).list(), []);
});
