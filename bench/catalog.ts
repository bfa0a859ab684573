/**
 * `npm run bench:catalog [-- --files 100000] [--dir DIR]`: the catalog at cluster scale (issue 14).
 *
 * FILES index statements by three uploaders (RSA-3072), each index 1–3 chunks with two holders
 * (seeded), are:
 *   1. verified and inserted into store A in batches of 1,000 (one transaction each);
 *   2. listed: `ls` (every file row as an object), a find by name, the holders of a chunk;
 *   3. caught up by an empty store B from store A with the real exchange loop (`syncFrom`: summary,
 *      "statements after seq n" in bounded batches, verify, apply) — store to store in one process,
 *      not yet over loopback: the wiring task adds the cluster port in between;
 *   4. memory: RSS and V8 heap after A's insert and ls, against before (per file).
 * Signing 2 × FILES statements costs minutes (RSA-3072 signs take ~2 ms); the signed statements are
 * kept in DIR (default: the temp folder) and reused by later runs. Prints figures; asserts nothing.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
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
import {
  generateKeyPair,
  type KeyPair,
  keyPairFromPrivatePem,
  privateKeyPem,
  signIndex,
} from '../src/keys/index.ts';
import { newUuid } from '../src/uuid.ts';

const { values } = parseArgs({
  options: { files: { type: 'string', default: '100000' }, dir: { type: 'string' } },
});
const FILES = Number(values.files);
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
} finally {
  await rm(work, { recursive: true, force: true });
}

const width = Math.max(...rows.map(([k]) => k.length));
const [load1] = (await import('node:os')).loadavg();
process.stdout.write(
  `catalog benchmark: ${FILES} files, 3 uploaders, 1-3 chunks each (load average ${load1?.toFixed(1)} on this machine)\n`,
);
for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
