import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { DiskStore } from '../../src/store/index.ts';
import { diskBytes, nodeFree, Reservations } from '../../src/store/space.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { MiB, UPLOADER } from './helpers.ts';

const NODE = newUuid();
const GiB = 1024 * MiB;

test('two stores on one filesystem name it alike, and nodeFree counts its free space once', async (t: TestContext) => {
  const root = await tmpDir(t);
  const a = await DiskStore.create(join(root, 'a'), NODE);
  teardown(t).defer(() => a.close());
  const b = await DiskStore.create(join(root, 'b'), NODE);
  teardown(t).defer(() => b.close());
  const [sa, sb] = [await a.status(), await b.status()];
  t.assert.ok(sa.filesystem !== undefined && sb.filesystem !== undefined);
  t.assert.strictEqual(sa.filesystem.id, sb.filesystem.id);
  // Other processes write to this disk meanwhile: compare with slack, not exactly.
  const one = Math.max(sa.free, sb.free);
  const both = nodeFree([sa, sb]);
  t.assert.ok(both <= one + 256 * MiB, `free ${both} counted twice (one store: ${one})`);
  t.assert.ok(both >= Math.min(sa.free, sb.free) - 256 * MiB);
});

test('a put reserved in one store lowers the free space of another store on the same filesystem', async (t: TestContext) => {
  const root = await tmpDir(t);
  const a = await DiskStore.create(join(root, 'a'), NODE);
  teardown(t).defer(() => a.close());
  const b = await DiskStore.create(join(root, 'b'), NODE);
  teardown(t).defer(() => b.close());
  const before = await b.status();
  const size = 4 * GiB - 1; // declared, not written: only the reservation counts
  if (before.free < size + GiB) return t.skip('less than 5 GiB free on the temp disk');
  const writer = await a.beginPut(newUuid(), { size, meta: { uploader: UPLOADER } });
  teardown(t).defer(() => writer.abort());
  const after = await b.status();
  t.assert.ok(before.free - after.free > size - 512 * MiB, `b's free went ${before.free} → ${after.free}`);
  t.assert.ok(after.filesystem !== undefined);
  t.assert.ok(
    before.filesystem !== undefined && before.filesystem.free - after.filesystem.free > size - 512 * MiB,
  );
});

test('diskBytes subtracts the pending bytes of every store on the filesystem', (t: TestContext) => {
  const a = new Reservations();
  const b = new Reservations();
  const c = new Reservations();
  t.after(() => {
    for (const r of [a, b, c]) r.leaveFilesystem();
  });
  a.joinFilesystem('4242424242');
  b.joinFilesystem('4242424242');
  c.joinFilesystem('4343434343');
  const r = a.reserve(100);
  r.written = 30;
  b.reserve(50);
  c.reserve(1000);
  t.assert.strictEqual(diskBytes(1000, a), 1000 - 70 - 50);
  t.assert.strictEqual(diskBytes(1000, b), 1000 - 70 - 50);
  t.assert.strictEqual(diskBytes(1000, b, 1), 1000 - 120 - 3);
  t.assert.strictEqual(diskBytes(5000, c), 4000);
  a.leaveFilesystem();
  t.assert.strictEqual(diskBytes(1000, b), 950);
});

test('nodeFree: stores on one filesystem share it; others and stores without one add up', (t: TestContext) => {
  const fs = (id: string, free: number) => ({ id, free });
  t.assert.strictEqual(
    nodeFree([
      { online: true, free: 100, filesystem: fs('1', 100) },
      { online: true, free: 100, filesystem: fs('1', 100) },
      { online: true, free: 40, filesystem: fs('2', 500) },
      { online: true, free: 10 },
      { online: false, free: 0, filesystem: fs('3', 900) },
    ]),
    100 + 40 + 10,
  );
  // Two limited stores on one big disk: each one's limit counts.
  t.assert.strictEqual(
    nodeFree([
      { online: true, free: 30, filesystem: fs('1', 1000) },
      { online: true, free: 20, filesystem: fs('1', 1000) },
    ]),
    50,
  );
});
