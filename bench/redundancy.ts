/**
 * bench:ec — the redundancy schemes on a 3-node cluster on this machine (three daemons, real TLS,
 * real disks): 2 copies against erasure coding 2+1, each plain and with --encrypt. Per scheme: the
 * disk the upload used on all nodes together, upload and download MB/s, and the CPU seconds all three
 * daemons spent per GiB of file. Then the codec alone against SHA-256 (bench/erasure-codec.ts).
 *
 *   npm run bench:ec -- [--size 1GiB] [--chunk-size 64MiB] [--dir DIR]
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { LocalCluster, type LocalNode } from '../src/cli/local-cluster.ts';
import { controlCall } from '../src/control/client.ts';
import type { JobRecord } from '../src/jobs/types.ts';
import { formatSize } from '../src/size.ts';
import { benchArgs, sizeArg } from './args.ts';
import { timed } from './cluster-baselines.ts';
import { cpuSeconds } from './cluster-probes.ts';
import { writeRandomFile } from './random-file.ts';

const exec = promisify(execFile);
const GiB = 1024 ** 3;
const { values } = benchArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    'chunk-size': { type: 'string', default: '64MiB' },
    dir: { type: 'string' },
  },
});
const size = sizeArg(values.size, 'size');
const chunkSize = sizeArg(values['chunk-size'], 'chunk-size');
const parent = values.dir === undefined ? tmpdir() : resolve(values.dir);
const say = (text: string) => process.stderr.write(`${text}\n`);
const out = (text: string) => process.stdout.write(`${text}\n`);

async function runJob(home: string, kind: 'upload' | 'download', params: Record<string, unknown>) {
  const job = (await controlCall(home, 'POST', '/v1/jobs', { kind, params })) as JobRecord;
  const { job: end } = (await controlCall(home, 'GET', `/v1/jobs/wait/${job.id}`, undefined, {
    timeoutMs: 2 ** 31 - 1,
  })) as { job: JobRecord };
  if (end.state !== 'done') throw new Error(`${kind} ${end.state}: ${end.error?.message}`);
  return end;
}

async function diskUsed(nodes: readonly LocalNode[]): Promise<number> {
  let total = 0;
  for (const node of nodes) {
    const { stdout } = await exec('du', ['-sb', join(node.home, 'stores')]);
    total += Number(stdout.split('\t')[0]);
  }
  return total;
}

interface Row {
  name: string;
  disk: number;
  upMBs: number;
  downMBs: number;
  upCpu: number;
  downCpu: number;
}

const schemes: Array<{ name: string; params: Record<string, unknown> }> = [
  { name: '2 copies', params: { copies: 2 } },
  { name: 'EC 2+1', params: { ec: '2+1' } },
  { name: '2 copies --encrypt', params: { copies: 2, encrypt: true } },
  { name: 'EC 2+1 --encrypt', params: { ec: '2+1', encrypt: true } },
];

const cluster = await LocalCluster.create(['alpha', 'beta', 'gamma'], {
  prefix: 'arozdfs-bench-ec-',
  parent,
});
const rows: Row[] = [];
try {
  const [alpha, beta, gamma] = cluster.nodes as [LocalNode, LocalNode, LocalNode];
  await cluster.start(beta);
  await cluster.start(gamma);
  await cluster.start(alpha, { peers: [beta, gamma] });
  const pids = cluster.nodes.map((n) => n.child?.pid ?? 0);
  const cpu = async () => (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);
  const file = join(cluster.root, 'data.bin');
  say(`${formatSize(size)}: writing the file in ${cluster.root}…`);
  await writeRandomFile(file, size);
  const nodes = [alpha.uuid, beta.uuid, gamma.uuid];
  for (const [k, scheme] of schemes.entries()) {
    say(`  ${scheme.name}: upload alpha → alpha, beta, gamma, then download on alpha…`);
    const index = join(cluster.root, `data-${k}.index.json`);
    const disk0 = await diskUsed(cluster.nodes);
    const cpu0 = await cpu();
    const up = await timed(() =>
      runJob(alpha.home, 'upload', { file, chunkSize, index, nodes, ...scheme.params }),
    );
    const cpu1 = await cpu();
    const disk = (await diskUsed(cluster.nodes)) - disk0;
    const down = join(cluster.root, 'down.bin');
    const dl = await timed(() => runJob(alpha.home, 'download', { index, out: down }));
    const cpu2 = await cpu();
    await rm(down, { force: true });
    rows.push({
      name: scheme.name,
      disk,
      upMBs: size / 1e6 / up,
      downMBs: size / 1e6 / dl,
      upCpu: (cpu1 - cpu0) / (size / GiB),
      downCpu: (cpu2 - cpu1) / (size / GiB),
    });
  }
} finally {
  await cluster.destroy();
}
out(
  `Redundancy on 3 nodes, ${formatSize(size)} file, ${formatSize(chunkSize)} chunks (CPU: all three daemons):`,
);
out(
  '  scheme                disk used (× file)   upload MB/s  download MB/s  upload CPU s/GiB  download CPU s/GiB',
);
for (const r of rows) {
  out(
    `  ${r.name.padEnd(20)}  ${formatSize(r.disk).padStart(10)} (${(r.disk / size).toFixed(2)}×)  ${r.upMBs.toFixed(0).padStart(11)}  ${r.downMBs.toFixed(0).padStart(13)}  ${r.upCpu.toFixed(2).padStart(16)}  ${r.downCpu.toFixed(2).padStart(18)}`,
  );
}
const base = rows[0]!;
for (const r of rows.slice(1)) {
  out(
    `  ${r.name} against 2 copies: disk ${(r.disk / base.disk).toFixed(2)}×, upload ${(r.upMBs / base.upMBs).toFixed(2)}×, download ${(r.downMBs / base.downMBs).toFixed(2)}×`,
  );
}
