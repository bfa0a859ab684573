/**
 * The baselines of `bench/cluster.ts`, measured in the same run and on the same disk as arozdfs:
 * `dd … conv=fdatasync` of the file twice at once, and the plain TLS pipelines of
 * bench/cluster-plain.ts (two server processes, a sender, then a downloader), with their peak RSS.
 */
import { execFile, fork } from 'node:child_process';
import { mkdir, open, rm, statfs, writeFile } from 'node:fs/promises';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeNodeCertificate } from '../src/keys/certificate.ts';
import { generateKeyPair } from '../src/keys/rsa.ts';
import { newUuid } from '../src/uuid.ts';

export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

/**
 * Pages for the next contender's buffered writes, as a machine in use has them. These machines are
 * virtual and report memory the guest has left free for a few seconds back to the host, so the first
 * write into a page after that pays for faulting it in again: 1 GiB written through the page cache
 * took 1.1–2.1 s of system CPU after 5 s idle and 0.37 s right after another file was deleted
 * (docs/transfer.md, "A fair Syncthing"). What a round finds therefore depended on the round before:
 * Syncthing, the plain pipelines and `dd` write through the page cache, arozdfs writes past it.
 * Writing `bytes` to a scratch file (never synced) and deleting it just before each contender gives
 * every one of them freshly recycled pages, as a machine without that reporting would.
 */
export async function levelPages(work: string, bytes: number): Promise<void> {
  const path = join(work, 'level.scratch');
  const piece = Buffer.alloc(1024 * 1024, 0x5a);
  const handle = await open(path, 'w');
  try {
    for (let done = 0; done < bytes; done += piece.length) {
      await handle.write(piece, 0, Math.min(piece.length, bytes - done));
    }
  } finally {
    await handle.close();
    await rm(path, { force: true });
  }
}

/** `wanted` bytes for levelPages, at most half the free memory and half the free space of `work`. */
export async function levelBytes(work: string, wanted: number): Promise<number> {
  const disk = await statfs(work);
  return Math.floor(Math.min(wanted, freemem() / 2, (disk.bavail * disk.bsize) / 2));
}

/** Seconds for two `dd if=FILE of=… bs=1M conv=fdatasync` at once (the bytes of two copies). */
export async function ddTwice(file: string, work: string): Promise<number> {
  const run = promisify(execFile);
  const outs = [0, 1].map((k) => join(work, `dd-${k}`));
  const args = (o: string) => [`if=${file}`, `of=${o}`, 'bs=1M', 'conv=fdatasync', 'status=none'];
  const seconds = await timed(() => Promise.all(outs.map((o) => run('dd', args(o)))));
  for (const o of outs) await rm(o, { force: true });
  return seconds;
}

function child(role: string[], work: string) {
  const proc = fork(new URL('./cluster-plain.ts', import.meta.url).pathname, [...role, '--work', work]);
  const next = () =>
    new Promise<Record<string, number>>((ok, fail) => {
      const onExit = (code: number | null) => fail(new Error(`plain ${role.join(' ')} exited with ${code}`));
      proc.once('exit', onExit);
      proc.once('message', (m) => {
        proc.off('exit', onExit);
        ok(m as Record<string, number>);
      });
    });
  const stop = async () => {
    const answer = next();
    proc.send('stop');
    const { rss = 0, cpu = 0 } = await answer;
    return { rss, cpu };
  };
  const cpu = async () => {
    const answer = next();
    proc.send('cpu');
    return (await answer)['cpu'] ?? 0;
  };
  return { next, stop, cpu };
}

export interface PlainFigures {
  /** Seconds of the upload and of the download pipeline. */
  up: number;
  down: number;
  rss: { sender: number; servers: number[]; downloader: number };
  /** CPU seconds (all threads) of every process of the pipeline, upload and download. */
  cpu: { up: { sender: number; servers: number[] }; down: { downloader: number; servers: number[] } };
}

/**
 * Runs the plain upload pipeline, then the plain download of what it stored (each after `level`);
 * removes its files.
 */
export async function plainPipelines(
  file: string,
  work: string,
  chunkSize: number,
  level: () => Promise<void>,
): Promise<PlainFigures> {
  const pair = await generateKeyPair(3072);
  const { certPem, keyPem } = await makeNodeCertificate(newUuid(), pair);
  await writeFile(join(work, 'plain-tls.json'), JSON.stringify({ cert: certPem, key: keyPem }));
  const servers = [];
  for (const k of [0, 1]) {
    const dir = join(work, `plain-${k}`);
    await mkdir(dir);
    const server = child(['--role', 'server', '--dir', dir], work);
    servers.push({ server, port: (await server.next())['port'] ?? 0 });
  }
  const args = ['--ports', servers.map((s) => s.port).join(','), '--chunk-size', String(chunkSize)];
  await level();
  const cpu0 = await Promise.all(servers.map((s) => s.server.cpu()));
  const sender = child(['--role', 'upload', '--file', file, ...args], work);
  const sent = await sender.next();
  const up = sent['seconds'] ?? Number.NaN;
  const senderEnd = await sender.stop();
  const cpu1 = await Promise.all(servers.map((s) => s.server.cpu()));
  await level();
  const downloader = child(['--role', 'download', '--file', join(work, 'plain-out'), ...args], work);
  const got = await downloader.next();
  const down = got['seconds'] ?? Number.NaN;
  const downloaderEnd = await downloader.stop();
  const serverEnd = await Promise.all(servers.map((s) => s.server.stop()));
  for (const name of ['plain-0', 'plain-1', 'plain-out', 'plain-tls.json', 'plain-hashes.json']) {
    await rm(join(work, name), { recursive: true, force: true });
  }
  return {
    up,
    down,
    rss: { sender: senderEnd.rss, servers: serverEnd.map((e) => e.rss), downloader: downloaderEnd.rss },
    cpu: {
      up: { sender: sent['cpu'] ?? 0, servers: cpu1.map((c, k) => c - (cpu0[k] ?? 0)) },
      down: { downloader: got['cpu'] ?? 0, servers: serverEnd.map((e, k) => e.cpu - (cpu1[k] ?? 0)) },
    },
  };
}
