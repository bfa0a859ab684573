/**
 * `npm run bench:repair [-- --size 2GiB] [--chunk-size 64MiB]`: repair after the loss of one node
 * (issue 15), with four real `arozdfs serve` processes on 127.0.0.2–5.
 *
 * Node 1 uploads 2 × SIZE in four files (2 copies, spread placement), so the node that is lost holds
 * about SIZE of copies. Node 0 is then killed (SIGKILL), its stores wiped, and removed with `peers
 * remove` on the three others — the loss is declared. Each survivor runs a `repair` job at once (as
 * `arozdfs repair` would), again until a round makes no copy and reports nothing short. Meanwhile the
 * control socket of node 1 is asked `GET /v1/status` and `GET /v1/jobs` in a loop.
 *
 * Prints: the bytes the lost node held, the time from the declared loss to 0 under-replicated chunks,
 * the chunk bytes each survivor stored and served as a repair source, and the status and jobs p50/p99.
 * Asserts nothing.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { controlCall } from '../src/control/client.ts';
import { initHome } from '../src/home/init.ts';
import { NodeHome } from '../src/home/open.ts';
import { pairHomes } from '../src/home/pair.ts';
import type { JobRecord } from '../src/jobs/types.ts';
import type { RepairResult } from '../src/ops/jobs.ts';
import { formatSize } from '../src/size.ts';
import { benchArgs, sizeArg } from './args.ts';
import { writeRandomFile } from './random-file.ts';

const run = promisify(execFile);
const { values } = benchArgs({
  options: {
    size: { type: 'string', default: '2GiB' },
    'chunk-size': { type: 'string', default: '64MiB' },
  },
});
const SIZE = sizeArg(values.size, 'size');
const CHUNK = values['chunk-size'];
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const log = (line: string) => writeSync(2, `${line}\n`);

async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, host, done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

async function serve(home: string, listen: string, peers: string[]): Promise<ChildProcess> {
  const args = [CLI, '--home', home, '--json', 'serve', '--listen', listen, '--no-discovery', '--web', 'off'];
  const child = spawn(process.execPath, [...args, ...peers.flatMap((p) => ['--peer', p])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((done, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"type":"ready"')) done();
    });
    child.once('exit', () => fail(new Error(`serve ${listen} exited before it was ready`)));
  });
  return child;
}

async function cli(home: string, args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [CLI, '--home', home, '--json', ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

/** Bytes of the chunk files under a node's stores. */
async function storedBytes(home: string): Promise<number> {
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/^[0-9a-f-]{36}$/.test(entry.name)) total += (await stat(path)).size;
    }
  };
  await walk(join(home, 'stores', 'default', 'chunks'));
  return total;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'arozdfs-bench-repair-'));
  const children: ChildProcess[] = [];
  try {
    const homes = Array.from({ length: 4 }, (_, i) => join(work, `node${i}`));
    for (const [i, home] of homes.entries()) await initHome(home, { name: `node${i}` });
    await pairHomes(homes);
    const uuids: string[] = [];
    for (const home of homes) {
      const h = await NodeHome.open(home);
      await h.updateConfig({ repairIntervalSeconds: 0, catalogSyncSeconds: 1 });
      uuids.push(h.config.nodeUuid);
    }
    const hosts = homes.map((_, i) => `127.0.0.${2 + i}`);
    const ports = await Promise.all(hosts.map((h) => freePort(h)));
    const at = (i: number) => `${uuids[i]}@${hosts[i]}:${ports[i]}`;
    for (const [i, home] of homes.entries()) {
      children.push(
        await serve(home, `${hosts[i]}:${ports[i]}`, [0, 1, 2, 3].filter((k) => k !== i).map(at)),
      );
    }
    const uploader = homes[1]!;
    log(`uploading ${formatSize(2 * SIZE)} in 4 files from node1 (2 copies, chunks of ${CHUNK})…`);
    for (let f = 0; f < 4; f++) {
      const file = join(work, `file${f}.bin`);
      await writeRandomFile(file, Math.floor((2 * SIZE) / 4));
      const index = join(work, `file${f}.index.json`);
      const up = await cli(uploader, ['upload', file, '--chunk-size', CHUNK, '--index', index]);
      if (up['type'] === 'error') throw new Error(`upload failed: ${JSON.stringify(up)}`);
      await rm(file);
    }
    // Every survivor lists every file before the loss.
    for (const home of homes.slice(1)) {
      for (;;) {
        const ls = await cli(home, ['ls']);
        if ((ls['files'] as unknown[] | undefined)?.length === 4) break;
      }
    }
    const lostBytes = await storedBytes(homes[0]!);
    const before = await Promise.all(homes.slice(1).map(storedBytes));
    children[0]!.kill('SIGKILL');
    await new Promise((done) => children[0]!.once('exit', done));
    await rm(join(homes[0]!, 'stores'), { recursive: true, force: true });
    const start = performance.now();
    for (const home of homes.slice(1)) await cli(home, ['peers', 'remove', uuids[0]!]);
    const declared = performance.now();
    // Status and jobs latency on node 1 while the repair runs.
    const status: number[] = [];
    const jobs: number[] = [];
    let repairing = true;
    const prober = (async () => {
      while (repairing) {
        let t0 = performance.now();
        await controlCall(uploader, 'GET', '/v1/status');
        status.push(performance.now() - t0);
        t0 = performance.now();
        await controlCall(uploader, 'GET', '/v1/jobs');
        jobs.push(performance.now() - t0);
      }
    })();
    const served = [0, 0, 0];
    let rounds = 0;
    for (;;) {
      rounds++;
      const results = await Promise.all(
        homes.slice(1).map(async (home) => {
          const job = (await controlCall(home, 'POST', '/v1/jobs', {
            kind: 'repair',
            params: {},
          })) as JobRecord;
          for (;;) {
            const now = (await controlCall(home, 'GET', `/v1/jobs/${job.id}`)) as JobRecord;
            if (now.state === 'done') return now.result as unknown as RepairResult;
            if (now.state === 'failed' || now.state === 'cancelled')
              throw new Error(JSON.stringify(now.error));
            await new Promise((done) => setTimeout(done, 100));
          }
        }),
      );
      results.forEach((r, k) => {
        served[k]! += r.bytes;
      });
      if (results.every((r) => r.copies === 0 && r.stillShort === 0 && r.underReplicated === 0)) break;
      if (rounds > 10) throw new Error('still under-replicated after 10 rounds');
    }
    const repaired = performance.now();
    repairing = false;
    await prober;
    const after = await Promise.all(homes.slice(1).map(storedBytes));
    status.sort((a, b) => a - b);
    jobs.sort((a, b) => a - b);
    const secs = (repaired - declared) / 1000;
    const rows: Array<[string, string]> = [
      ['copies held by the lost node', formatSize(lostBytes)],
      ['peers remove on 3 nodes', `${((declared - start) / 1000).toFixed(2)} s`],
      [
        'declared loss → 0 under-replicated',
        `${secs.toFixed(2)} s (${rounds} rounds), ${formatSize(lostBytes / secs)}/s`,
      ],
      ...homes
        .slice(1)
        .map((_, k): [string, string] => [
          `node${k + 1}: stored / served as repairer`,
          `${formatSize(after[k]! - before[k]!)} / ${formatSize(served[k]!)}`,
        ]),
      [
        'GET /v1/status p50 / p99 (control socket)',
        `${quantile(status, 0.5).toFixed(1)} / ${quantile(status, 0.99).toFixed(1)} ms (${status.length} calls)`,
      ],
      [
        'GET /v1/jobs p50 / p99 (control socket)',
        `${quantile(jobs, 0.5).toFixed(1)} / ${quantile(jobs, 0.99).toFixed(1)} ms`,
      ],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    process.stdout.write(
      `bench:repair, 4 serve processes, ${formatSize(2 * SIZE)} uploaded, chunks of ${CHUNK}\n`,
    );
    for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
  } finally {
    // A child killed by a signal has no exit code: its signal code says it is gone.
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    const exits = running.map((c) => new Promise((done) => c.once('exit', done)));
    for (const child of running) child.kill('SIGTERM');
    await Promise.all(exits);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
