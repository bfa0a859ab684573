/**
 * `npm run bench:catalog [-- --files 100000] [--dir DIR]`: the catalog at cluster scale (issue 14).
 *
 * FILES index statements by three uploaders (RSA-3072), each index 1–3 chunks with two holders
 * (seeded), are:
 *   1. verified and inserted into store A in batches of 1,000 (one transaction each);
 *   2. listed: `ls` (every file row as an object), a find by name, the holders of a chunk;
 *   3. caught up by an empty store B from store A with the real exchange loop (`syncFrom`: summary,
 *      "statements after seq n" in bounded batches, verify, apply) — store to store in one process;
 *   4. memory: RSS and V8 heap after A's insert and ls, against before (per file);
 *   5. caught up over loopback: two real `arozdfs serve` processes on 127.0.0.2 and 127.0.0.3, paired,
 *      A's home holding store A's catalog, B's empty; B pulls everything through the cluster port
 *      (pinned mTLS, NDJSON batches) when it connects. Timed from B's start until its catalog lists
 *      every file; B's peak RSS (VmHWM) is printed.
 * Signing 2 × FILES statements costs minutes (RSA-3072 signs take ~2 ms); the signed statements are
 * kept in DIR (default: the temp folder) and reused by later runs. Prints figures; asserts nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type CatalogKeys,
  catalogKeys,
  encodeStatement,
  localPeer,
  SqliteCatalogStore,
  signStatement,
  syncFrom,
  verifyStatement,
} from '../src/catalog/index.ts';
import { initHome } from '../src/home/init.ts';
import { NodeHome } from '../src/home/open.ts';
import { pairHomes } from '../src/home/pair.ts';
import {
  generateKeyPair,
  type KeyPair,
  keyPairFromPrivatePem,
  privateKeyPem,
  signIndex,
} from '../src/keys/index.ts';
import { newUuid } from '../src/uuid.ts';
import { benchArgs, numberArg } from './args.ts';

const { values } = benchArgs({
  options: { files: { type: 'string', default: '100000' }, dir: { type: 'string' } },
});
const FILES = numberArg(values.files, 'files');
const cacheDir = join(resolve(values.dir ?? tmpdir()), `arozdfs-bench-catalog-${FILES}-v1`);
const log = (line: string) => process.stderr.write(`${line}\n`);
const rows: Array<[string, string]> = [];
const seconds = (start: number) => (performance.now() - start) / 1000;
/** CPU seconds (user + system) of this process since `start` (a process.cpuUsage()). */
const cpuSeconds = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

interface Node {
  uuid: string;
  keyPair: KeyPair;
}

/** Three uploader nodes, their keys kept in the cache so the cached statements verify. */
async function nodes(): Promise<Node[]> {
  const file = join(cacheDir, 'nodes.json');
  if (existsSync(file)) {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Array<{ uuid: string; pem: string }>;
    return saved.map((n) => ({
      uuid: n.uuid,
      keyPair: keyPairFromPrivatePem(newUuid(), n.pem, 'bench key'),
    }));
  }
  const made = await Promise.all(
    [0, 1, 2].map(async () => ({ uuid: newUuid(), keyPair: await generateKeyPair(3072) })),
  );
  await mkdir(cacheDir, { recursive: true });
  await writeFile(file, JSON.stringify(made.map((n) => ({ uuid: n.uuid, pem: privateKeyPem(n.keyPair) }))));
  return made;
}

/** FILES signed index statements, one per line, written once. */
async function statementsFile(all: Node[]): Promise<string> {
  const file = join(cacheDir, 'statements.ndjson');
  if (existsSync(file)) return file;
  log(`signing ${FILES} index statements once (kept in ${cacheDir})…`);
  const start = performance.now();
  const out = createWriteStream(`${file}.part`);
  let seed = 0x14c47a10;
  const random = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const hex = () =>
    Array.from({ length: 4 }, () =>
      Math.floor(random() * 2 ** 32)
        .toString(16)
        .padStart(8, '0'),
    )
      .join('')
      .repeat(2);
  for (let k = 0; k < FILES; k++) {
    const uploader = all[k % 3] as Node;
    const holders = [uploader.uuid, (all[(k + 1) % 3] as Node).uuid];
    const chunks = 1 + Math.floor(random() * 3);
    const chunkSize = 64 * 1024 * 1024;
    const size = (chunks - 1) * chunkSize + 1 + Math.floor(random() * (chunkSize - 1));
    const id = newUuid();
    const index = signIndex(
      {
        format: 'arozdfs-index',
        version: 1,
        id,
        file: { name: `file-${String(k).padStart(6, '0')}.bin`, size, sha256: hex() },
        chunkSize,
        redundancy: { scheme: 'replicas', copies: 2 },
        chunks: Array.from({ length: chunks }, (_, i) => ({
          i,
          offset: i * chunkSize,
          size: i < chunks - 1 ? chunkSize : size - i * chunkSize,
          sha256: hex(),
          uuid: newUuid(),
          holders: holders.map((node) => ({ node })),
        })),
        createdAt: new Date(Date.UTC(2026, 0, 1) + k * 1000).toISOString(),
        cluster: holders,
        shift: 1,
        createdBy: uploader.uuid,
      },
      uploader.keyPair,
    );
    const seq = Math.floor(k / 3) + 1;
    const s = signStatement(
      { kind: 'index', signer: uploader.uuid, seq, file: id, body: { index } },
      uploader.keyPair,
    );
    if (!out.write(`${encodeStatement(s).toString('utf8')}\n`)) await once(out, 'drain');
    if (k % 10_000 === 9_999) log(`  ${k + 1} signed`);
  }
  out.end();
  await once(out, 'finish');
  await rename(`${file}.part`, file);
  rows.push(['setup: sign statements (one-off, cached)', `${seconds(start).toFixed(1)} s`]);
  return file;
}

async function insert(store: SqliteCatalogStore, file: string, keys: CatalogKeys): Promise<void> {
  let verifyTime = 0;
  let applyTime = 0;
  let batch: Buffer[] = [];
  const flush = () => {
    let t = performance.now();
    const verified = batch.map((b) => verifyStatement(b, keys));
    verifyTime += seconds(t);
    t = performance.now();
    const result = store.apply(verified);
    applyTime += seconds(t);
    if (result.refused.length > 0) throw new Error(result.refused[0]?.message);
    batch = [];
  };
  for await (const line of createInterface({ input: createReadStream(file) })) {
    batch.push(Buffer.from(line, 'utf8'));
    if (batch.length === 1000) flush();
  }
  if (batch.length > 0) flush();
  rows.push([
    'insert: verify (2 RSA verifies + strict decode each)',
    `${verifyTime.toFixed(1)} s (${((verifyTime / FILES) * 1e6).toFixed(0)} µs/file)`,
  ]);
  rows.push([
    'insert: apply (1,000 per transaction)',
    `${applyTime.toFixed(1)} s (${((applyTime / FILES) * 1e6).toFixed(0)} µs/file)`,
  ]);
}

/** A port free on `host` now. */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, host, done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** Starts `serve` for `home`; resolves once it printed its ready line. */
async function serve(home: string, host: string, port: number, peer: string): Promise<ChildProcess> {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const args = [cli, '--home', home, '--json', 'serve', '--listen', `${host}:${port}`];
  const child = spawn(process.execPath, [...args, '--no-discovery', '--web', 'off', '--peer', peer], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((done, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"type":"ready"')) done();
    });
    child.once('exit', () => fail(new Error(`serve ${host} exited before it was ready`)));
  });
  return child;
}

/** Files listed by the catalog at `path` (read-only, beside the daemon writing it). */
function countFiles(path: string): number {
  try {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return Number((db.prepare('SELECT count(*) AS n FROM files').get() as { n: number }).n);
    } finally {
      db.close();
    }
  } catch {
    return 0; // not made yet
  }
}

/** Step 5: B catches up from A through the cluster port of two real daemons. */
async function overLoopback(catalogA: string, work: string): Promise<void> {
  const homes = [join(work, 'home-a'), join(work, 'home-b')];
  for (const [i, home] of homes.entries()) await initHome(home, { name: `bench-${i}` });
  await pairHomes(homes);
  const homeB = await NodeHome.open(homes[1]!);
  const trustB = await homeB.trustStore();
  for (const n of all)
    await homeB.addPeer(trustB, { nodeUuid: n.uuid, key: n.keyPair, label: 'uploader' }, 'cli');
  await copyFile(catalogA, join(homes[0]!, 'catalog.db'));
  const uuids = await Promise.all(homes.map(async (h) => (await NodeHome.open(h)).config.nodeUuid));
  const ports = [await freePort('127.0.0.2'), await freePort('127.0.0.3')];
  const children: ChildProcess[] = [];
  try {
    children.push(await serve(homes[0]!, '127.0.0.2', ports[0]!, `${uuids[1]}@127.0.0.3:${ports[1]}`));
    const t = performance.now();
    const b = await serve(homes[1]!, '127.0.0.3', ports[1]!, `${uuids[0]}@127.0.0.2:${ports[0]}`);
    children.push(b);
    const dbB = join(homes[1]!, 'catalog.db');
    const deadline = performance.now() + 600_000;
    let listed = countFiles(dbB);
    while (listed < FILES) {
      if (performance.now() > deadline) throw new Error(`B listed ${listed} of ${FILES} files after 600 s`);
      await sleep(250); // a benchmark polls the other process's catalog; it asserts nothing
      listed = countFiles(dbB);
    }
    const wall = seconds(t);
    const status = await readFile(`/proc/${b.pid}/status`, 'utf8').catch(() => '');
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
    rows.push([
      `catch-up over loopback, two serve processes: ${listed} files`,
      `${wall.toFixed(1)} s from B's start (${((wall / FILES) * 1e6).toFixed(0)} µs/file); B's peak RSS ${(hwm / 2 ** 20).toFixed(0)} MiB`,
    ]);
  } finally {
    for (const child of children) {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  }
}

const all = await nodes();
const file = await statementsFile(all);
const self = newUuid();
const keys = catalogKeys(
  { nodeUuid: self, keys: [] },
  { get: (uuid) => all.find((n) => n.uuid === uuid)?.keyPair },
);
const work = await mkdtemp(join(tmpdir(), 'arozdfs-bench-catalog-'));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
try {
  gc();
  const before = process.memoryUsage();
  const a = await SqliteCatalogStore.open(join(work, 'a.db'));
  await insert(a, file, keys);

  let t = performance.now();
  let cpuLs = process.cpuUsage();
  const listed = [...a.files()];
  rows.push([
    `ls: ${listed.length} files as objects`,
    `${(seconds(t) * 1000).toFixed(0)} ms wall, ${(cpuSeconds(cpuLs) * 1000).toFixed(0)} ms CPU`,
  ]);
  cpuLs = process.cpuUsage();
  t = performance.now();
  let streamed = 0;
  for (const _ of a.files()) streamed++;
  rows.push([
    `ls: ${streamed} files streamed (one row at a time)`,
    `${(seconds(t) * 1000).toFixed(0)} ms wall, ${(cpuSeconds(cpuLs) * 1000).toFixed(0)} ms CPU`,
  ]);
  const probe = listed[Math.floor(listed.length / 2)];
  t = performance.now();
  for (let k = 0; k < 1000; k++) a.findByName(probe?.name ?? '');
  rows.push(['find by name (indexed)', `${((seconds(t) / 1000) * 1e6).toFixed(0)} µs`]);
  const chunk = a.indexOf(probe?.id ?? '')?.chunks[0]?.uuid ?? '';
  t = performance.now();
  for (let k = 0; k < 1000; k++) a.holdersOf(chunk);
  rows.push(['holders of a chunk (indexed)', `${((seconds(t) / 1000) * 1e6).toFixed(0)} µs`]);
  listed.length = 0;
  gc();
  const after = process.memoryUsage();
  rows.push([
    'memory after insert + ls (RSS / heap delta per file)',
    `${((after.rss - before.rss) / FILES).toFixed(0)} / ${((after.heapUsed - before.heapUsed) / FILES).toFixed(0)} bytes`,
  ]);
  rows.push([
    'catalog file size per file',
    `${(((await stat(join(work, 'a.db'))).size + (await stat(join(work, 'a.db-wal')).catch(() => ({ size: 0 }))).size) / FILES).toFixed(0)} bytes`,
  ]);

  const b = await SqliteCatalogStore.open(join(work, 'b.db'));
  t = performance.now();
  const cpu = process.cpuUsage();
  const result = await syncFrom(localPeer(a), b, keys);
  const catchUp = seconds(t);
  rows.push([
    `catch-up store to store: ${result.accepted} statements in ${result.batches} batches`,
    `${catchUp.toFixed(1)} s wall, ${cpuSeconds(cpu).toFixed(1)} s CPU (${((catchUp / FILES) * 1e6).toFixed(0)} µs/file)`,
  ]);
  if (b.counts().files !== FILES || result.refused > 0)
    throw new Error('the catch-up did not copy everything');
  a.close();
  b.close();
  await overLoopback(join(work, 'a.db'), work);
} finally {
  await rm(work, { recursive: true, force: true });
}

const width = Math.max(...rows.map(([k]) => k.length));
const [load1] = (await import('node:os')).loadavg();
process.stdout.write(
  `catalog benchmark: ${FILES} files, 3 uploaders, 1-3 chunks each (load average ${load1?.toFixed(1)} on this machine)\n`,
);
for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
