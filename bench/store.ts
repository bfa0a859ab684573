/**
 * `npm run bench:store [-- --size 1GiB] [--chunk-size 64MiB] [--dir DIR]`: DiskStore put and get
 * against the pipelines they are made of, measured in the same run on the same disk (figures and
 * ratios, never timed assertions).
 *
 * Puts SIZE as chunks in 1 MiB pieces (reused buffers, as the transport hands them over) and reads
 * it back. Baselines, same bytes, same sizes: SHA-256 alone; FileHandle.write + datasync per chunk
 * file; FileHandle.read into one reused 1 MiB buffer. A put does hash + write + fdatasync + sidecar +
 * link + folder fsync; it overlaps the hash of a piece with its write, so it can beat the serial sum
 * of the two baselines. Reads come from the page cache (just written), for both store and baseline.
 * Removes everything it made.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatSize } from '../src/size.ts';
import { DiskStore } from '../src/store/index.ts';
import { newUuid } from '../src/uuid.ts';
import { benchArgs, sizeArg } from './args.ts';

const MiB = 1024 * 1024;
const TMPFS_MAGIC = 0x01021994;

const { values } = benchArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    'chunk-size': { type: 'string', default: '64MiB' },
    dir: { type: 'string' },
  },
});
const total = sizeArg(values.size, 'size');
const chunkSize = sizeArg(values['chunk-size'], 'chunk-size');
const chunks = Math.ceil(total / chunkSize);
const sizeOf = (i: number) => Math.min(chunkSize, total - i * chunkSize);

// 16 distinct 1 MiB pieces, reused in turn: no fresh memory per piece (slow to touch on these VMs).
const pieces = Array.from({ length: 16 }, () => randomFillSync(Buffer.allocUnsafeSlow(MiB)));
function* piecesOf(i: number): Generator<Buffer> {
  const size = sizeOf(i);
  for (let off = 0, k = i * 7; off < size; off += MiB, k++) {
    yield (pieces[k % pieces.length] as Buffer).subarray(0, Math.min(MiB, size - off));
  }
}

const parent = values.dir === undefined ? tmpdir() : resolve(values.dir);
if ((await statfs(parent)).type === TMPFS_MAGIC) process.stderr.write(`warning: ${parent} is a tmpfs\n`);
const work = await mkdtemp(join(parent, 'arozdfs-bench-store-'));
const rows: Array<[string, number, string]> = [];

async function time(label: string, fn: () => Promise<void>, note = ''): Promise<number> {
  const start = performance.now();
  await fn();
  const seconds = (performance.now() - start) / 1000;
  rows.push([label, total / 1e6 / seconds, note]);
  return seconds;
}

try {
  process.stderr.write(
    `${formatSize(total)} as ${chunks} chunks of ${formatSize(chunkSize)}, 1 MiB pieces, in ${work}\n`,
  );
  const hashes: string[] = [];
  const tHash = await time('baseline: SHA-256 only', async () => {
    for (let i = 0; i < chunks; i++) {
      const h = createHash('sha256');
      for (const p of piecesOf(i)) h.update(p);
      hashes.push(h.digest('hex'));
    }
  });

  const plain = join(work, 'plain');
  const tWrite = await time('baseline: FileHandle.write + datasync', async () => {
    for (let i = 0; i < chunks; i++) {
      await using fh = await open(`${plain}-${i}`, 'wx');
      let pos = 0;
      for (const p of piecesOf(i)) pos += (await fh.write(p, 0, p.length, pos)).bytesWritten;
      await fh.datasync();
    }
  });
  const buffer = Buffer.allocUnsafeSlow(MiB);
  const tRead = await time('baseline: FileHandle.read, reused 1 MiB', async () => {
    for (let i = 0; i < chunks; i++) {
      await using fh = await open(`${plain}-${i}`, 'r');
      for (let pos = 0, n = 1; n > 0; pos += n) n = (await fh.read(buffer, 0, MiB, pos)).bytesRead;
    }
  });
  for (let i = 0; i < chunks; i++) await rm(`${plain}-${i}`);

  const node = newUuid();
  const store = await DiskStore.create(join(work, 'store'), node);
  const uuids = Array.from({ length: chunks }, () => newUuid());
  const serial = tHash + tWrite;
  const tPut = await time('DiskStore put (hash + write + fsyncs)', async () => {
    for (let i = 0; i < chunks; i++) {
      const w = await store.beginPut(uuids[i] as string, { size: sizeOf(i), meta: { uploader: node } });
      for (const p of piecesOf(i)) await w.write(p);
      await w.finish(hashes[i] as string);
    }
  });
  rows[rows.length - 1]![2] =
    `${(tWrite / tPut).toFixed(2)}x write baseline, ${(serial / tPut).toFixed(2)}x write-then-hash`;

  const tGet = await time('DiskStore get (iterate)', async () => {
    for (const uuid of uuids) for await (const _ of await store.get(uuid));
  });
  rows[rows.length - 1]![2] = `${(tRead / tGet).toFixed(2)}x read baseline`;
  await time('DiskStore get + SHA-256 verify', async () => {
    for (const [i, uuid] of uuids.entries()) {
      const h = createHash('sha256');
      for await (const p of await store.get(uuid)) h.update(p);
      if (h.digest('hex') !== hashes[i]) throw new Error(`chunk ${i} read back wrong`);
    }
  });
  await store.close();

  const width = Math.max(...rows.map(([l]) => l.length));
  for (const [label, mbps, note] of rows) {
    process.stdout.write(`${label.padEnd(width)}  ${mbps.toFixed(0).padStart(6)} MB/s  ${note}\n`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
