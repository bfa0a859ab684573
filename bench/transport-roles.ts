/**
 * The two ends of `bench/transport.ts`, each run in its own process: a sender that pushes SIZE as
 * chunks (hashing while it sends), and a receiver — the node API over the pinned transport into a
 * DiskStore, or the plain pipelines it is measured against (TLS 1.3 + SHA-256 + write + fdatasync;
 * raw TCP). Each reports to the parent over IPC: its port, its time, its peak RSS.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { connect as netConnect, createServer as netServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as tlsServer } from 'node:tls';
import { nodeApi } from '../src/node/api.ts';
import { DiskStore } from '../src/store/index.ts';
import { RemoteChunkWriter } from '../src/transport/chunks.ts';
import { dialPeer } from '../src/transport/client.ts';
import { type Identity, NodeServer } from '../src/transport/server.ts';
import { newUuid } from '../src/uuid.ts';

const MiB = 1024 * 1024;
export type Mode = 'tcp' | 'tls' | 'h2' | 'h2x2';
export interface Ids {
  sender: Identity & { spki: string };
  receiver: Identity & { spki: string };
}
export interface Plan {
  total: number;
  chunkSize: number;
}

export const maxRss = (): number => process.resourceUsage().maxRSS * 1024;
const reply = (message: unknown) => process.send?.(message);
let plan: Plan = { total: 0, chunkSize: 1 };
const chunks = () => Math.ceil(plan.total / plan.chunkSize);
const sizeOf = (i: number) => Math.min(plan.chunkSize, plan.total - i * plan.chunkSize);

// ---- sender: 16 distinct 1 MiB pieces reused in turn (no fresh memory per piece)
const pieces: Buffer[] = [];
function* piecesOf(i: number): Generator<Buffer> {
  for (let off = 0, k = i * 7; off < sizeOf(i); off += MiB, k++) {
    yield (pieces[k % pieces.length] as Buffer).subarray(0, Math.min(MiB, sizeOf(i) - off));
  }
}

export async function send(mode: Mode, port: number, ids: Ids, what: Plan): Promise<void> {
  plan = what;
  const rss0 = process.memoryUsage().rss;
  for (let k = 0; k < 16; k++) pieces.push(randomFillSync(Buffer.allocUnsafeSlow(MiB)));
  const started = performance.now();
  if (mode === 'h2' || mode === 'h2x2') {
    const pins = {
      isPinned: (u: string, spki: Buffer) =>
        u === ids.receiver.nodeUuid && spki.toString('base64') === ids.receiver.spki,
    };
    const session = await dialPeer({
      uuid: ids.receiver.nodeUuid,
      host: '127.0.0.1',
      port,
      identity: ids.sender,
      pins,
    });
    // 'h2x2': two chunks in flight, as an upload engine may overlap them (one's fdatasync with the
    // next one's bytes). Not a like-for-like comparison with the one-stream TLS pipeline.
    const lanes = mode === 'h2x2' ? 2 : 1;
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < chunks(); i = next++) {
        const writer = await RemoteChunkWriter.open(session, ids.receiver.nodeUuid, newUuid(), {
          size: sizeOf(i),
        });
        const hash = createHash('sha256');
        const inFlight: Promise<void>[] = [];
        for (const piece of piecesOf(i)) {
          hash.update(piece);
          inFlight.push(writer.write(piece));
          if (inFlight.length >= 8) await inFlight.shift();
        }
        await Promise.all(inFlight);
        if ((await writer.finish(hash.digest('hex'))) !== 'created')
          throw new Error(`chunk ${i} not created`);
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    session.close();
  } else {
    const socket: Socket =
      mode === 'tls'
        ? tlsConnect({
            port,
            host: '127.0.0.1',
            cert: ids.sender.certPem,
            key: ids.sender.keyPem,
            rejectUnauthorized: false,
            minVersion: 'TLSv1.3',
          })
        : netConnect({ port, host: '127.0.0.1' });
    await new Promise((ok) => socket.once(mode === 'tls' ? 'secureConnect' : 'connect', ok));
    const answers = socket[Symbol.asyncIterator]();
    for (let i = 0; i < chunks(); i++) {
      const header = Buffer.alloc(8);
      header.writeBigUInt64BE(BigInt(sizeOf(i)));
      socket.write(header);
      const hash = createHash('sha256');
      for (const piece of piecesOf(i)) {
        if (mode === 'tls') hash.update(piece);
        if (!socket.write(piece)) await new Promise((ok) => socket.once('drain', ok));
      }
      const answer = Buffer.from((await answers.next()).value as Buffer);
      if (mode === 'tls' && answer.toString('hex') !== hash.digest('hex')) throw new Error(`chunk ${i} hash`);
    }
    socket.end();
  }
  reply({ seconds: (performance.now() - started) / 1000, rss: maxRss(), rss0 });
}

// ---- receivers
export async function receive(mode: Mode, work: string, ids: Ids): Promise<() => Promise<void>> {
  if (mode === 'h2' || mode === 'h2x2') {
    const store = await DiskStore.create(join(work, 'h2-store'), ids.receiver.nodeUuid);
    const pins = {
      isPinned: (u: string, spki: Buffer) =>
        u === ids.sender.nodeUuid && spki.toString('base64') === ids.sender.spki,
    };
    const handler = nodeApi({
      store,
      idleMs: 30_000,
      info: async () => ({ uuid: ids.receiver.nodeUuid, name: 'bench', version: '0', stores: [] }),
    });
    const server = new NodeServer({ identity: ids.receiver, pins, handler, host: '127.0.0.1', port: 0 });
    reply({ port: (await server.start()).port, rss0: process.memoryUsage().rss });
    return async () => {
      await server.close();
      await store.close();
    };
  }
  const server =
    mode === 'tls'
      ? tlsServer(
          { cert: ids.receiver.certPem, key: ids.receiver.keyPem, minVersion: 'TLSv1.3' },
          (s) => void take(s, mode, work),
        )
      : netServer((s) => void take(s, mode, work));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  reply({ port: (server.address() as { port: number }).port, rss0: process.memoryUsage().rss });
  return () => new Promise<void>((ok) => server.close(() => ok()));
}

/**
 * The plain pipelines, one chunk after another: an 8-byte size, then the bytes. TLS: gather into
 * reused 1 MiB buffers (at most 4 being written, the socket paused beyond that), hash each, write it,
 * fdatasync at the chunk's end, answer the SHA-256. TCP: count the bytes, answer one byte.
 */
function take(socket: Socket, mode: Mode, work: string): void {
  const free: Buffer[] = [];
  const full = mode === 'tls';
  let header = Buffer.alloc(0);
  let left = -1;
  let file: Promise<FileHandle> | undefined;
  let hash = createHash('sha256');
  let buffer: Buffer = Buffer.allocUnsafeSlow(MiB);
  let filled = 0;
  let position = 0;
  let inFlight = 0;
  let chain = Promise.resolve();
  let count = 0;
  const flush = () => {
    const b = buffer;
    const length = filled;
    const at = position;
    const f = file;
    const h = hash;
    buffer = free.pop() ?? Buffer.allocUnsafeSlow(MiB);
    filled = 0;
    position += length;
    if (++inFlight >= 4) socket.pause();
    chain = chain.then(async () => {
      h.update(b.subarray(0, length));
      await (await (f as Promise<FileHandle>)).write(b, 0, length, at);
      free.push(b);
      if (--inFlight < 4) socket.resume();
    });
  };
  const endChunk = () => {
    if (!full) {
      socket.write(Buffer.alloc(1));
      return;
    }
    if (filled > 0) flush();
    const f = file as Promise<FileHandle>;
    const h = hash;
    chain = chain.then(async () => {
      const fh = await f;
      await fh.datasync();
      await fh.close();
      socket.write(h.digest());
    });
  };
  socket.on('data', (data: Buffer) => {
    for (let at = 0; at < data.length; ) {
      if (left < 0) {
        const need = 8 - header.length;
        header = Buffer.concat([header, data.subarray(at, at + need)]);
        at += Math.min(need, data.length - at);
        if (header.length < 8) return;
        left = Number(header.readBigUInt64BE());
        header = Buffer.alloc(0);
        if (full) {
          file = open(join(work, `tls-${count++}`), 'w');
          hash = createHash('sha256');
          position = 0;
        }
        if (left === 0) endChunk();
        continue;
      }
      const n = Math.min(left, data.length - at);
      if (full) {
        for (let k = 0; k < n; ) {
          const copied = data.copy(buffer, filled, at + k, at + n);
          filled += copied;
          k += copied;
          if (filled === buffer.length) flush();
        }
      }
      at += n;
      left -= n;
      if (left === 0) {
        left = -1;
        endChunk();
      }
    }
  });
  socket.on('error', () => {});
}
