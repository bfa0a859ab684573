/**
 * A child process for the crash tests (not a test file): opens a DiskStore and writes into it
 * until the parent kills it with SIGKILL.
 *   node crash-put.ts DIR NODE_UUID half   begins a put, writes half of it, prints "half <uuid>", waits
 *   node crash-put.ts DIR NODE_UUID loop   puts 64 KiB chunks forever, printing "created <uuid>" after each
 */
import { createHash } from 'node:crypto';
import { DiskStore } from '../../src/store/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { seeded } from '../helpers/seed.ts';

const [dir = '', node = '', mode = ''] = process.argv.slice(2);
const store = await DiskStore.open(dir, node);
const uploader = newUuid();
const random = seeded(`crash-put ${mode}`);

if (mode === 'half') {
  const uuid = newUuid();
  const writer = await store.beginPut(uuid, { size: 256 * 1024, meta: { uploader } });
  await writer.write(random.bytes(128 * 1024));
  process.stdout.write(`half ${uuid}\n`);
  setInterval(() => {}, 60_000);
} else if (mode === 'loop') {
  for (;;) {
    const uuid = newUuid();
    const bytes = random.bytes(64 * 1024);
    const writer = await store.beginPut(uuid, { size: bytes.length, meta: { uploader } });
    for (let offset = 0; offset < bytes.length; offset += 8 * 1024) {
      await writer.write(bytes.subarray(offset, offset + 8 * 1024));
    }
    await writer.finish(createHash('sha256').update(bytes).digest('hex'));
    process.stdout.write(`created ${uuid}\n`);
  }
} else {
  throw new Error(`unknown mode ${JSON.stringify(mode)}`);
}
