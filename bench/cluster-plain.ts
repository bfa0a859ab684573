/**
 * The plain pipelines `bench/cluster.ts` measures arozdfs against, built from Node's own `tls`; each
 * role runs in its own process (forked, IPC). They do the work an upload or download cannot avoid
 * and nothing else (no HTTP/2, no stores, no journals, no index):
 *
 * - `server` (one per receiving node): TLS 1.3. A connection's first byte says what it wants.
 *   `P` put: frames `[8 B chunk number][8 B size][bytes]`; each chunk is hashed, written to `c-<n>`
 *   and fdatasync'ed (overlapping the next chunk's bytes), then answered with its 32-byte SHA-256.
 *   `G` get: requests `[8 B chunk number]`, answered `[8 B size][bytes]` read from `c-<n>`.
 * - `upload`: reads FILE once in 1 MiB pieces (8 reused buffers), hashes each chunk, sends every
 *   piece to both servers at once; at most 2 chunks unanswered; checks both answers.
 * - `download`: asks server k for chunks n ≡ k (mod 2) over one connection each, hashes each chunk
 *   while writing it at its offset in OUT, checks it, fdatasyncs OUT at the end.
 *
 * Receivers gather into 1 MiB buffers, hash on the main thread and keep up to 4 writes in flight, as
 * the arozdfs store does. Replies: `{port}` or `{seconds, cpu}` (CPU seconds of the work, not of starting up); on "cpu", `{cpu}` (CPU seconds so far,
 * all threads); on "stop", `{rss, cpu}` (peak RSS in bytes) and exits.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';

const PIECE = 1024 * 1024;
const reply = (message: unknown) => process.send?.(message);
const maxRss = () => process.resourceUsage().maxRSS * 1024;

/** Pulls exact byte counts out of a socket's stream of buffers. */
class Pull {
  #it: AsyncIterator<Buffer>;
  #rest: Buffer | undefined;
  constructor(socket: TLSSocket) {
    this.#it = socket[Symbol.asyncIterator]();
  }
  /** The next ≤ max bytes; undefined at the end of the stream. */
  async piece(max: number): Promise<Buffer | undefined> {
    let b = this.#rest;
    if (b === undefined || b.length === 0) {
      const next = await this.#it.next();
      if (next.done) return undefined;
      b = next.value as Buffer;
    }
    this.#rest = b.length > max ? b.subarray(max) : undefined;
    return b.length > max ? b.subarray(0, max) : b;
  }
  /** Exactly n bytes; undefined at a clean end before the first byte. */
  async exactly(n: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    for (let got = 0; got < n; ) {
      const p = await this.piece(n - got);
      if (p === undefined) {
        if (got === 0) return undefined;
        throw new Error('the stream ended inside a frame');
      }
      parts.push(p);
      got += p.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}

const written = (socket: TLSSocket, data: Buffer) =>
  new Promise<void>((ok, fail) => socket.write(data, (err) => (err ? fail(err) : ok())));

function ring(count: number) {
  return Array.from({ length: count }, () => ({
    buf: Buffer.allocUnsafeSlow(PIECE),
    pending: Promise.resolve() as Promise<unknown>,
  }));
}

/** Receives `size` bytes into `fh` at `at`, hashing them; resolves with the hex SHA-256. */
async function receiveInto(pull: Pull, size: number, fh: FileHandle, at: number): Promise<string> {
  const slots = ring(4);
  const hash = createHash('sha256');
  for (let k = 0, left = size; left > 0; k++) {
    const slot = slots[k % slots.length]!;
    await slot.pending;
    const want = Math.min(PIECE, left);
    for (let filled = 0; filled < want; ) {
      const p = await pull.piece(want - filled);
      if (p === undefined) throw new Error('the stream ended inside a chunk');
      filled += p.copy(slot.buf, filled);
    }
    const view = slot.buf.subarray(0, want);
    hash.update(view);
    slot.pending = fh.write(view, 0, want, at);
    at += want;
    left -= want;
  }
  await Promise.all(slots.map((s) => s.pending));
  return hash.digest('hex');
}

function frame(...values: number[]): Buffer {
  const b = Buffer.alloc(8 * values.length);
  for (const [k, v] of values.entries()) b.writeBigUInt64BE(BigInt(v), 8 * k);
  return b;
}

async function serve(socket: TLSSocket, dir: string): Promise<void> {
  const pull = new Pull(socket);
  const kind = (await pull.exactly(1))?.toString();
  let answers = Promise.resolve();
  for (;;) {
    const header = await pull.exactly(kind === 'P' ? 16 : 8);
    if (header === undefined) break;
    const n = Number(header.readBigUInt64BE(0));
    if (kind === 'P') {
      const fh = await open(join(dir, `c-${n}`), 'w');
      const sha = await receiveInto(pull, Number(header.readBigUInt64BE(8)), fh, 0);
      const synced = fh.datasync().then(() => fh.close());
      answers = answers.then(async () => {
        await synced;
        await written(socket, Buffer.from(sha, 'hex'));
      });
    } else {
      const fh = await open(join(dir, `c-${n}`), 'r');
      const size = (await fh.stat()).size;
      await written(socket, frame(size));
      const slots = ring(4);
      for (let k = 0, at = 0; at < size; k++) {
        const slot = slots[k % slots.length]!;
        await slot.pending;
        const { bytesRead } = await fh.read(slot.buf, 0, Math.min(PIECE, size - at), at);
        slot.pending = written(socket, slot.buf.subarray(0, bytesRead));
        at += bytesRead;
      }
      await Promise.all(slots.map((s) => s.pending));
      await fh.close();
    }
  }
  await answers;
  socket.end();
}

interface Tls {
  cert: string;
  key: string;
}

async function dial(port: number, tls: Tls, kind: string): Promise<TLSSocket> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    ...tls,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  });
  await new Promise((ok, fail) => socket.once('secureConnect', ok).once('error', fail));
  socket.write(kind);
  return socket;
}

async function upload(file: string, ports: number[], tls: Tls, chunkSize: number, work: string) {
  const fh = await open(file, 'r');
  const size = (await fh.stat()).size;
  const sockets = await Promise.all(ports.map((p) => dial(p, tls, 'P')));
  const pulls = sockets.map((s) => new Pull(s));
  const answered = pulls.map(() => Promise.resolve());
  const open2: Promise<void>[] = [];
  const hashes: string[] = [];
  const slots = ring(8);
  const started = performance.now();
  for (let n = 0, k = 0; n * chunkSize < size; n++) {
    if (open2.length >= 2) await open2.shift();
    const length = Math.min(chunkSize, size - n * chunkSize);
    for (const s of sockets) s.write(frame(n, length));
    const hash = createHash('sha256');
    for (let at = 0; at < length; k++) {
      const slot = slots[k % slots.length]!;
      await slot.pending;
      const want = Math.min(PIECE, length - at);
      const { bytesRead } = await fh.read(slot.buf, 0, want, n * chunkSize + at);
      const view = slot.buf.subarray(0, bytesRead);
      hash.update(view);
      slot.pending = Promise.all(sockets.map((s) => written(s, view)));
      at += bytesRead;
    }
    const sha = hash.digest('hex');
    hashes.push(sha);
    const answers = pulls.map((pull, j) => {
      answered[j] = answered[j]!.then(async () => {
        const got = await pull.exactly(32);
        if (got?.toString('hex') !== sha) throw new Error(`chunk ${n}: a server answered a wrong hash`);
      });
      return answered[j];
    });
    open2.push(Promise.all(answers).then(() => {}));
  }
  await Promise.all(open2);
  const seconds = (performance.now() - started) / 1000;
  for (const s of sockets) s.end();
  await fh.close();
  await writeFile(join(work, 'plain-hashes.json'), JSON.stringify(hashes));
  return seconds;
}

async function download(out: string, ports: number[], tls: Tls, chunkSize: number, work: string) {
  const hashes = JSON.parse(await readFile(join(work, 'plain-hashes.json'), 'utf8')) as string[];
  const fh = await open(out, 'w');
  const started = performance.now();
  await Promise.all(
    ports.map(async (port, lane) => {
      const socket = await dial(port, tls, 'G');
      const pull = new Pull(socket);
      for (let n = lane; n < hashes.length; n += ports.length) {
        socket.write(frame(n));
        const size = Number((await pull.exactly(8))?.readBigUInt64BE(0));
        const sha = await receiveInto(pull, size, fh, n * chunkSize);
        if (sha !== hashes[n]) throw new Error(`chunk ${n} came back with a wrong hash`);
      }
      socket.end();
    }),
  );
  await fh.datasync();
  await fh.close();
  return (performance.now() - started) / 1000;
}

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    work: { type: 'string' },
    dir: { type: 'string' },
    file: { type: 'string' },
    ports: { type: 'string' },
    'chunk-size': { type: 'string' },
  },
});
const work = values.work ?? '.';
const tls = JSON.parse(await readFile(join(work, 'plain-tls.json'), 'utf8')) as Tls;
const ports = (values.ports ?? '').split(',').map(Number);
const chunkSize = Number(values['chunk-size']);
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
process.on('message', (message) => {
  if (message === 'cpu') {
    reply({ cpu: cpuSeconds() });
    return;
  }
  reply({ rss: maxRss(), cpu: cpuSeconds() });
  process.disconnect?.();
  process.exit(0);
});
if (values.role === 'server') {
  const server = createServer({ ...tls, minVersion: 'TLSv1.3' }, (s) => {
    s.on('error', () => {});
    serve(s, values.dir ?? work).catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  });
  server.listen(0, '127.0.0.1', () => reply({ port: (server.address() as { port: number }).port }));
} else if (values.role === 'upload') {
  const cpu0 = cpuSeconds();
  const seconds = await upload(values.file ?? '', ports, tls, chunkSize, work);
  reply({ seconds, cpu: cpuSeconds() - cpu0 });
} else {
  const cpu0 = cpuSeconds();
  const seconds = await download(values.file ?? '', ports, tls, chunkSize, work);
  reply({ seconds, cpu: cpuSeconds() - cpu0 });
}
