import { open, rm } from 'node:fs/promises';
import { BufferRing } from './src/chunk/ring.ts';
import { copyRange } from './src/chunk/copy.ts';
import { PieceWriter } from './src/chunk/writer.ts';
import { ArozError } from './src/errors.ts';
const SRC = '/tmp/exp/src.bin', OUT = '/tmp/exp/out.bin';
const size = 1024 ** 3;
const mode = process.argv[2];
const slots = Number(process.argv[3] ?? 8), slotSize = Number(process.argv[4] ?? 2) * 1024 * 1024;
await rm(OUT, { force: true });
const t0 = performance.now(); const c0 = process.cpuUsage();
const src = await open(SRC, 'r');
if (process.env.FALLOC === '1') { const { execFileSync } = await import('node:child_process'); execFileSync('fallocate', ['-l', String(size), OUT]); }
const out = await open(OUT, process.env.FALLOC === '1' ? 'r+' : 'w');
if (process.env.TRUNC === '1') await out.truncate(size);
const writer = await PieceWriter.open(OUT, out, 'out', process.env.BUF !== '1');
await using ring = new BufferRing(slots, slotSize);
const sink = mode === 'hash' ? { write: async () => {} } : writer;
if (mode === 'write') {
  const writes = [];
  for (let pos = 0; pos < size; pos += slotSize) {
    const slot = await ring.acquire();
    const view = ring.view(slot, slotSize);
    let got = 0; while (got < slotSize) got += (await src.read(view, got, slotSize - got, pos + got)).bytesRead;
    const w = writer.write(view, pos); ring.hold(slot, w); writes.push(w);
  }
  await Promise.all(writes); await ring.settle();
} else {
  const { written } = await copyRange(ring, { src, srcName: 's', srcPos: 0, length: size, dst: sink, dstPos: 0, hash: 'none', short: () => new ArozError('ERR_X', 'short'), onBytes: () => {}, signal: undefined, doing: 'x' });
  await written; await ring.digest();
}
const t1 = performance.now();
await out.datasync();
const t2 = performance.now();
await writer.close(); await out.close(); await src.close();
const c = process.cpuUsage(c0);
console.log(mode, slots, slotSize / 1048576, 'MiB', ((t1 - t0) / 1000).toFixed(2), 's + sync', ((t2 - t1) / 1000).toFixed(2), 'cpu', ((c.user + c.system) / 1e6).toFixed(2));
