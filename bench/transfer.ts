/**
 * `node bench/transfer.ts [--size 512MiB] [--chunk-size 16MiB] [--runs 3]`: the upload and download
 * engines against hand-written minimal pipelines doing the same work, in the same run, on three
 * in-memory nodes (MemoryStore), so the figures are the engines' own cost (no network, no TLS).
 *
 * - upload baseline: per chunk, beginPut on its 2 targets, read the file in 1 MiB pieces into one
 *   reused buffer, hash (chunk and whole file, this thread), write to both, finish.
 * - download baseline: per chunk, get from a holder, read into one reused buffer, hash the chunk,
 *   write at its offset; fsync. No whole-file hash.
 * - read-back: reading the finished file again and hashing it — what a download would add at its end
 *   if it did not hash the whole file while fetching (src/transfer/ordered-hash.ts overlaps it).
 *
 * Prints wall times and ratios; never asserts (speed is measured by benchmarks, never by tests).
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signerKeys } from '../src/keys/index.ts';
import { generateKeyPair } from '../src/keys/rsa.ts';
import { targets } from '../src/placement/index.ts';
import { formatSize } from '../src/size.ts';
import { MemoryStore } from '../src/store/index.ts';
import { downloadFile, uploadFile } from '../src/transfer/index.ts';
import { newUuid } from '../src/uuid.ts';
import { benchArgs, numberArg, sizeArg } from './args.ts';

const { values } = benchArgs({
  options: {
    size: { type: 'string', default: '512MiB' },
    'chunk-size': { type: 'string', default: '16MiB' },
    runs: { type: 'string', default: '3' },
  },
});
const size = sizeArg(values.size, 'size');
const chunkSize = sizeArg(values['chunk-size'], 'chunk-size');
const runs = numberArg(values.runs, 'runs');
const PIECE = 1024 * 1024;

const work = await mkdtemp(join(tmpdir(), 'arozdfs-bench-transfer-'));
try {
  const path = join(work, 'data.bin');
  const fh = await open(path, 'w');
  const block = Buffer.allocUnsafe(PIECE);
  for (let pos = 0; pos < size; pos += PIECE) {
    randomFillSync(block);
    await fh.write(block, 0, Math.min(PIECE, size - pos), pos);
  }
  await fh.close();
  const nodes = [newUuid(), newUuid(), newUuid()].sort();
  const keyPair = await generateKeyPair(3072);
  const self = { nodeUuid: nodes[0]!, keyPair };
  const trusted = signerKeys({ nodeUuid: self.nodeUuid, keys: [keyPair] }, []);
  const fresh = () => new Map(nodes.map((n) => [n, new MemoryStore({ limit: 4 * size })]));
  const time = async (f: () => Promise<unknown>) => {
    const start = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  const results: Record<string, number[]> = {};
  const note = (label: string, seconds: number) => {
    results[label] = [...(results[label] ?? []), seconds];
  };
  for (let run = 0; run < runs; run++) {
    let stores = fresh();
    note('upload baseline', await time(() => baselineUpload(path, stores, nodes, self.nodeUuid)));
    stores = fresh();
    const connect = async (n: string) => stores.get(n)!;
    let index: Awaited<ReturnType<typeof uploadFile>> | undefined;
    note(
      'upload engine',
      await time(async () => {
        index = await uploadFile(path, { nodes, chunkSize, connect, self });
      }),
    );
    const out = join(work, `out-${run}.bin`);
    note('download baseline', await time(() => baselineDownload(index!, stores, `${out}.base`)));
    note('read-back hash', await time(() => readBack(`${out}.base`)));
    note('download engine', await time(() => downloadFile(index!, { connect, out, trusted })));
    await rm(out);
    await rm(`${out}.base`);
  }
  const best = (label: string) => Math.min(...results[label]!);
  const rate = (s: number) => `${(size / s / 1e6).toFixed(0)} MB/s`;
  console.log(`file ${formatSize(size)}, chunks ${formatSize(chunkSize)}, best of ${runs} runs`);
  for (const label of Object.keys(results))
    console.log(`${label.padEnd(18)} ${best(label).toFixed(3)} s  ${rate(best(label))}`);
  console.log(
    `upload / baseline:              ${(best('upload engine') / best('upload baseline')).toFixed(2)}`,
  );
  console.log(
    `download / baseline:            ${(best('download engine') / best('download baseline')).toFixed(2)}`,
  );
  console.log(
    `(baseline + read-back) / baseline: ${((best('download baseline') + best('read-back hash')) / best('download baseline')).toFixed(2)}`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}

async function baselineUpload(
  path: string,
  stores: Map<string, MemoryStore>,
  nodes: string[],
  uploader: string,
) {
  const fh = await open(path, 'r');
  const buffer = Buffer.allocUnsafeSlow(PIECE);
  const whole = createHash('sha256');
  for (let i = 0, offset = 0; offset < size; i++, offset += chunkSize) {
    const length = Math.min(chunkSize, size - offset);
    const uuid = newUuid();
    const writers = await Promise.all(
      targets(nodes, i, 1, 2).map((n) => stores.get(n)!.beginPut(uuid, { size: length, meta: { uploader } })),
    );
    const hash = createHash('sha256');
    for (let pos = 0; pos < length; pos += PIECE) {
      const { bytesRead } = await fh.read(buffer, 0, Math.min(PIECE, length - pos), offset + pos);
      const view = buffer.subarray(0, bytesRead);
      hash.update(view);
      whole.update(view);
      await Promise.all(writers.map((w) => w.write(view)));
    }
    const sha = hash.digest('hex');
    await Promise.all(writers.map((w) => w.finish(sha)));
  }
  whole.digest('hex');
  await fh.close();
}

async function baselineDownload(
  index: Awaited<ReturnType<typeof uploadFile>>,
  stores: Map<string, MemoryStore>,
  out: string,
) {
  const fh = await open(out, 'w');
  const buffer = Buffer.allocUnsafeSlow(PIECE);
  for (const chunk of index.chunks) {
    const reader = await stores.get(chunk.holders![0]!.node)!.get(chunk.uuid);
    const hash = createHash('sha256');
    let pos = 0;
    for (let n = await reader.read(buffer); n > 0; n = await reader.read(buffer)) {
      hash.update(buffer.subarray(0, n));
      await fh.write(buffer, 0, n, chunk.offset + pos);
      pos += n;
    }
    if (hash.digest('hex') !== chunk.sha256) throw new Error('corrupt');
  }
  await fh.sync();
  await fh.close();
}

async function readBack(path: string) {
  const fh = await open(path, 'r');
  const buffer = Buffer.allocUnsafeSlow(PIECE);
  const hash = createHash('sha256');
  for (let n = (await fh.read(buffer)).bytesRead; n > 0; n = (await fh.read(buffer)).bytesRead) {
    hash.update(buffer.subarray(0, n));
  }
  hash.digest('hex');
  await fh.close();
}
