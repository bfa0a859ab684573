/**
 * `npm run bench:transport [-- --size 1GiB] [--chunk-size 64MiB] [--rounds 1] [--dir DIR] [--cpu-prof]`:
 * one node pushes SIZE as chunks to another over the pinned transport (mTLS 1.3 + HTTP/2, the node
 * API, a DiskStore that hashes, writes and fdatasyncs), next to, in the same run and on the same
 * disk: a plain Node TLS 1.3 stream whose receiver also hashes, writes and fdatasyncs each chunk (the
 * pipeline the transport is made of), and raw loopback TCP (the network limit). Receiver and sender
 * are separate processes, so both cores work; a fresh pair per run gives each its own peak RSS
 * (process.resourceUsage().maxRSS; "+N": above the RSS when it was ready). Both receivers gather
 * the body into reused 1 MiB buffers; both senders hash while they send. Prints MB/s, the ratio to
 * the TLS pipeline of the same round, peak RSS, and the receiver's CPU time (user + system) from
 * ready to stop. A last row puts two chunks in flight at once, as
 * an upload engine may (not a like-for-like comparison: the plain pipeline has one stream).
 */
import { fork } from 'node:child_process';
import { mkdtemp, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeNodeCertificate } from '../src/keys/certificate.ts';
import { generateKeyPair } from '../src/keys/rsa.ts';
import { LIMITS } from '../src/transport/limits.ts';
import { newUuid } from '../src/uuid.ts';
import { benchArgs, numberArg, sizeArg } from './args.ts';
import { type Ids, type Mode, maxRss, receive, send } from './transport-roles.ts';

const MiB = 1024 * 1024;
const TMPFS_MAGIC = 0x01021994;
/** Where `--cpu-prof` puts the children's profiles (CPU.<date>.<pid>.cpuprofile, one per process). */
const PROFILES = join(tmpdir(), 'arozdfs-bench-profiles');

const { values } = benchArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    'chunk-size': { type: 'string', default: '64MiB' },
    rounds: { type: 'string', default: '1' },
    dir: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    role: { type: 'string' },
    mode: { type: 'string' },
    work: { type: 'string' },
    port: { type: 'string' },
  },
});
const total = sizeArg(values.size, 'size');
const chunkSize = sizeArg(values['chunk-size'], 'chunk-size');
const chunks = Math.ceil(total / chunkSize);
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

// ---- orchestration
async function child(
  args: string[],
): Promise<{ proc: ReturnType<typeof fork>; first: Promise<Record<string, number>> }> {
  const execArgv = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`] : [];
  const proc = fork(
    new URL(import.meta.url).pathname,
    [...process.argv.slice(2).filter((a) => a !== '--cpu-prof'), ...args],
    { execArgv },
  );
  const first = new Promise<Record<string, number>>((ok, fail) => {
    proc.once('message', (m) => ok(m as Record<string, number>));
    proc.once('exit', (code) => fail(new Error(`child ${args.join(' ')} exited with ${code}`)));
  });
  return { proc, first };
}

async function main(): Promise<void> {
  const parent = values.dir === undefined ? tmpdir() : resolve(values.dir);
  if ((await statfs(parent)).type === TMPFS_MAGIC) process.stderr.write(`warning: ${parent} is a tmpfs\n`);
  const work = await mkdtemp(join(parent, 'arozdfs-bench-transport-'));
  try {
    const ids = {} as Ids;
    for (const who of ['sender', 'receiver'] as const) {
      const pair = await generateKeyPair(3072);
      const nodeUuid = newUuid();
      ids[who] = {
        nodeUuid,
        ...(await makeNodeCertificate(nodeUuid, pair)),
        spki: pair.spkiDer.toString('base64'),
      };
    }
    await writeFile(join(work, 'ids.json'), JSON.stringify(ids));
    if (values['cpu-prof']) process.stderr.write(`CPU profiles go to ${PROFILES}\n`);
    process.stderr.write(
      `${values.size} as ${chunks} chunks of ${values['chunk-size']} in ${work}; windows: stream ${LIMITS.streamWindow / MiB} MiB, session ${LIMITS.sessionWindow / MiB} MiB\n`,
    );
    const rows: Array<{
      mode: Mode;
      mbps: number;
      sendRss: number;
      sendRss0: number;
      recvRss: number;
      recvRss0: number;
      recvUser: number;
      recvSystem: number;
    }> = [];
    const rounds = numberArg(values.rounds, 'rounds');
    for (let r = 0; r < rounds; r++) {
      for (const mode of ['tcp', 'tls', 'h2', 'h2x2'] as const) {
        const receiver = await child(['--role', 'receive', '--mode', mode, '--work', work]);
        const { port, rss0: recvRss0 = 0 } = await receiver.first;
        const sender = await child([
          '--role',
          'send',
          '--mode',
          mode,
          '--work',
          work,
          '--port',
          String(port),
        ]);
        const sent = await sender.first;
        const recvRss = new Promise<Record<string, number>>((ok) =>
          receiver.proc.once('message', (m) => ok(m as Record<string, number>)),
        );
        receiver.proc.send('stop');
        const stopped = await recvRss;
        rows.push({
          mode,
          mbps: total / 1e6 / (sent['seconds'] ?? 1),
          sendRss: sent['rss'] ?? 0,
          sendRss0: sent['rss0'] ?? 0,
          recvRss: stopped['rss'] ?? 0,
          recvRss0,
          recvUser: stopped['user'] ?? 0,
          recvSystem: stopped['system'] ?? 0,
        });
        await rm(join(work, 'h2-store'), { recursive: true, force: true });
        for (let i = 0; i < chunks; i++) await rm(join(work, `tls-${i}`), { force: true });
      }
    }
    const label = {
      tcp: 'raw loopback TCP (no hash, no disk)',
      tls: 'plain TLS 1.3 + SHA-256 + write + fdatasync',
      h2: 'node API: pinned mTLS HTTP/2 → DiskStore',
      h2x2: 'node API, two chunks in flight',
    };
    const ratios: number[] = [];
    for (const [k, row] of rows.entries()) {
      const tls = rows.slice(0, k).findLast((r) => r.mode === 'tls');
      const ratio = row.mode.startsWith('h2') && tls !== undefined ? row.mbps / tls.mbps : undefined;
      if (ratio !== undefined && row.mode === 'h2') ratios.push(ratio);
      process.stdout.write(
        `${label[row.mode].padEnd(44)} ${row.mbps.toFixed(0).padStart(6)} MB/s  peak RSS sender ${mib(row.sendRss)} (+${mib(row.sendRss - row.sendRss0)}), receiver ${mib(row.recvRss)} (+${mib(row.recvRss - row.recvRss0)}), receiver CPU ${row.recvUser.toFixed(2)} s user + ${row.recvSystem.toFixed(2)} s sys${ratio === undefined ? '' : `  ${(100 * ratio).toFixed(0)} % of the TLS pipeline`}\n`,
      );
    }
    const sorted = ratios.sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
    process.stdout.write(
      `node API / TLS pipeline, median of ${sorted.length} round(s): ${(100 * median).toFixed(0)} %\n`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (values.role === undefined) await main();
else {
  const ids = JSON.parse(await readFile(join(values.work ?? '', 'ids.json'), 'utf8')) as Ids;
  const mode = values.mode as Mode;
  if (values.role === 'send') {
    await send(mode, numberArg(values.port, 'port'), ids, { total, chunkSize });
    process.disconnect?.();
  } else {
    const stop = await receive(mode, values.work ?? '', ids);
    const cpu0 = process.cpuUsage();
    process.once('message', async () => {
      await stop();
      const cpu = process.cpuUsage(cpu0);
      process.send?.({ rss: maxRss(), user: cpu.user / 1e6, system: cpu.system / 1e6 });
      process.disconnect?.();
    });
  }
}
