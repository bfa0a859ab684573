/**
 * `npm run bench:cluster`: three arozdfs nodes as processes on 127.0.0.2–4 move one file (upload
 * alpha → beta + gamma, 2 copies; download on alpha with every chunk remote), in rounds interleaved
 * with the baselines of the same run — `dd` twice at once, the plain TLS pipelines, and Syncthing A → B
 * when `syncthing` is installed (bench/syncthing.ts). Prints medians, CPU seconds per GiB,
 * cores kept busy, peak and idle RSS of every daemon, RSS after each successive job, and the latency
 * of the status calls during an upload. `--quick` (or AROZDFS_BENCH_QUICK=1): 256 MiB, 2 rounds.
 * Before each contender it writes and deletes a scratch file, so every one finds recycled pages for
 * its buffered writes (`levelPages`, bench/cluster-baselines.ts); `--no-level` leaves that out.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LocalCluster, type LocalNode } from '../src/cli/local-cluster.ts';
import { controlCall } from '../src/control/client.ts';
import { NodeHome } from '../src/home/open.ts';
import type { JobRecord } from '../src/jobs/types.ts';
import { makeNodeCertificate } from '../src/keys/certificate.ts';
import { generateKeyPair } from '../src/keys/rsa.ts';
import { formatSize } from '../src/size.ts';
import { dialPeer, getJson } from '../src/transport/client.ts';
import { newUuid } from '../src/uuid.ts';
import { SETTLE_MS } from '../src/young-gc.ts';
import { benchArgs, numberArg, sizeArg } from './args.ts';
import {
  ddTwice,
  levelBytes,
  levelPages,
  type PlainFigures,
  plainPipelines,
  timed,
} from './cluster-baselines.ts';
import {
  cpuSeconds,
  currentRss,
  jobsListProcess,
  latency,
  memoryOf,
  peakRss,
  probe,
  resetPeak,
  sampleAnon,
} from './cluster-probes.ts';
import { type Figures, type PerPhase, PHASES, type Phase, report } from './cluster-report.ts';
import { formatSummary, summarize } from './cpu-profile.ts';
import { writeRandomFile } from './random-file.ts';
import { findSyncthing, SyncthingPair, type SyncthingRound } from './syncthing.ts';
import { daemonTuning } from './tuning.ts';

const MiB = 1024 * 1024;
const { values } = benchArgs({
  options: {
    size: { type: 'string', multiple: true },
    'chunk-size': { type: 'string', default: '64MiB' },
    rounds: { type: 'string' },
    jobs: { type: 'string' },
    dir: { type: 'string' },
    quick: { type: 'boolean', default: process.env['AROZDFS_BENCH_QUICK'] === '1' },
    'no-syncthing': { type: 'boolean', default: false },
    'no-level': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const sizes = (values.size ?? (quick ? ['256MiB'] : ['1GiB', '4GiB']))
  .flatMap((s) => s.split(','))
  .map((s) => sizeArg(s, 'size'));
const chunkSize = sizeArg(values['chunk-size'], 'chunk-size');
const rounds = numberArg(values.rounds ?? (quick ? '2' : '5'), 'rounds');
/** Successive arozdfs jobs to watch for RSS creep (the rounds' jobs count, extra downloads fill up). */
const creepJobs = numberArg(values.jobs ?? (quick ? '0' : '10'), 'jobs', { min: 0 });
const parent = values.dir === undefined ? tmpdir() : resolve(values.dir);
const say = (text: string) => process.stderr.write(`${text}\n`);
const out = (text: string) => process.stdout.write(`${text}\n`);
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

/** Submits a job to the node of `home` and waits for it; throws unless it is done. */
async function runJob(home: string, kind: 'upload' | 'download', params: Record<string, unknown>) {
  const job = (await controlCall(home, 'POST', '/v1/jobs', { kind, params })) as JobRecord;
  const { job: end } = (await controlCall(home, 'GET', `/v1/jobs/wait/${job.id}`, undefined, {
    timeoutMs: 2 ** 31 - 1,
  })) as { job: JobRecord };
  if (end.state !== 'done') throw new Error(`${kind} ${end.state}: ${end.error?.message}`);
  return end;
}

/** A client identity alpha trusts, to call GET /v1/node on its cluster port as a peer would. */
async function probeIdentity(alpha: LocalNode) {
  const pair = await generateKeyPair(3072);
  const nodeUuid = newUuid();
  const home = await NodeHome.open(alpha.home);
  await home.addPeer(await home.trustStore(), { nodeUuid, key: pair, label: 'bench-probe' }, 'cli');
  const alphaKey = await home.activeKeyPair();
  const identity = { nodeUuid, ...(await makeNodeCertificate(nodeUuid, pair)) };
  return () =>
    dialPeer({
      uuid: alpha.uuid,
      host: alpha.host,
      port: alpha.port,
      identity,
      pins: { isPinned: (u, spki) => u === alpha.uuid && spki.equals(alphaKey.spkiDer) },
    });
}

async function measure(size: number, rounds: number, syncthing: boolean): Promise<Figures> {
  const cluster = await LocalCluster.create(['alpha', 'beta', 'gamma'], {
    prefix: 'arozdfs-bench-cluster-',
    parent,
  });
  const profiles = join(cluster.root, 'profiles');
  let pair: SyncthingPair | undefined;
  try {
    const [alpha, beta, gamma] = cluster.nodes as [LocalNode, LocalNode, LocalNode];
    const dialProbe = await probeIdentity(alpha); // before alpha starts: it reads its trust then
    const memoryDir = join(cluster.root, 'memory');
    await mkdir(memoryDir);
    process.env['AROZDFS_BENCH_MEMORY_DIR'] = memoryDir; // the nodes inherit it
    const execArgv = [
      ...nodeFlags,
      '--import',
      new URL('./memory-report.js', import.meta.url).pathname,
      ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : []),
    ];
    await cluster.start(beta, { execArgv });
    await cluster.start(gamma, { execArgv });
    await cluster.start(alpha, { execArgv, peers: [beta, gamma] });
    const pids = new Map(cluster.nodes.map((n) => [n.name, n.child?.pid ?? 0]));
    // A daemon gives back what starting up and each job left behind once 2 s pass without more work
    // (src/young-gc.ts): idle RSS, and RSS after a job, are read after that, as `ps` would see them.
    const settled = () => delay(SETTLE_MS + 1_000);
    /** From 3 s to 15 s after the last job: past the 10 s a node keeps what a transfer used. */
    const REST_MS = 12_000;
    await settled();
    const zero = () => Object.fromEntries(PHASES.map((p) => [p, [] as number[]])) as PerPhase;
    const rss: Figures['rss'] = {};
    for (const [name, pid] of pids) rss[name] = { ...(await currentRss(pid)), peak: zero(), anon: zero() };
    const seconds = zero();
    const memory: Figures['memory'] = Object.fromEntries([...pids.keys()].map((n) => [n, {}]));
    const cpu: Figures['cpu'] = Object.fromEntries([...pids.keys()].map((n) => [n, zero()]));
    const afterJob: Figures['afterJob'] = Object.fromEntries([...pids.keys()].map((n) => [n, []]));
    // Recycled pages before every contender (bench/cluster-baselines.ts): the two copies that the
    // plain upload and dd write, and a margin; `--no-level` leaves each with what the one before left.
    const scratch = await levelBytes(cluster.root, 2 * size + 256 * MiB);
    const level = values['no-level'] ? async () => {} : () => levelPages(cluster.root, scratch);
    /** Runs one phase: its wall time, and every node's peak RSS and private memory during it. */
    const phase = async (name: Phase, work: () => Promise<unknown>) => {
      await level();
      for (const pid of pids.values()) await resetPeak(pid);
      const stop = new AbortController();
      const anon = sampleAnon([...pids.values()], stop.signal);
      const cpu0 = await Promise.all([...pids.values()].map(cpuSeconds));
      try {
        seconds[name].push(await timed(work));
      } finally {
        stop.abort();
      }
      const anonPeaks = await anon;
      for (const [k, [node, pid]] of [...pids].entries()) {
        rss[node]!.peak[name].push(await peakRss(pid));
        rss[node]!.anon[name].push(anonPeaks[k] ?? 0);
        cpu[node]![name].push((await cpuSeconds(pid)) - (cpu0[k] ?? 0));
      }
      await settled();
      for (const [node, pid] of pids) {
        afterJob[node]!.push((await currentRss(pid)).idle);
        const usage = await memoryOf(pid, memoryDir);
        if (usage !== undefined) memory[node]![name] = usage;
      }
    };

    const work = cluster.root;
    const file = join(work, 'data.bin');
    say(`${formatSize(size)}: writing the file in ${work}…`);
    await writeRandomFile(file, size);
    if (syncthing) {
      say('  starting Syncthing A and B on 127.0.0.5 and 127.0.0.6…');
      pair = await SyncthingPair.start(work);
    }
    const st = pair;
    const syncthingIdle = st === undefined ? undefined : await st.rss();
    const dd: number[] = [];
    const plain: PlainFigures[] = [];
    const sync: SyncthingRound[] = [];
    const nodes = [beta.uuid, gamma.uuid];
    const index = (k: number) => join(work, `data-${k}.index.json`);
    const down = join(work, 'down.bin');
    // Each round runs every contender once; the order rotates so none always goes first.
    const contenders: [string, (k: number) => Promise<unknown>][] = [
      [
        'dd twice at once, plain TLS pipelines',
        async () => {
          await level();
          dd.push(await ddTwice(file, work));
          plain.push(await plainPipelines(file, work, chunkSize, level));
        },
      ],
      [
        'arozdfs upload alpha → beta + gamma, download on alpha',
        async (k) => {
          await phase('upload', () =>
            runJob(alpha.home, 'upload', { file, chunkSize, index: index(k), nodes }),
          );
          await phase('download', () => runJob(alpha.home, 'download', { index: index(k), out: down }));
          await rm(down, { force: true });
        },
      ],
      ...(st === undefined
        ? []
        : [
            [
              'Syncthing A → B',
              async (k: number) => {
                await level();
                sync.push(await st.round(file, size, `round-${k}.bin`));
              },
            ] as [string, (k: number) => Promise<unknown>],
          ]),
    ];
    for (let k = 0; k < rounds; k++) {
      for (let c = 0; c < contenders.length; c++) {
        const [what, run] = contenders[(k + c) % contenders.length]!;
        say(`  round ${k + 1}/${rounds}: ${what}…`);
        await run(k);
      }
    }
    const extra = Math.max(0, creepJobs - 2 * rounds);
    for (let k = 0; k < extra; k++) {
      say(`  successive job ${2 * rounds + k + 1}/${creepJobs}: download on alpha…`);
      await phase('download', () => runJob(alpha.home, 'download', { index: index(0), out: down }));
      await rm(down, { force: true });
    }
    const upload = (name: string) => () =>
      runJob(alpha.home, 'upload', { file, chunkSize, index: join(work, `${name}.index.json`) });

    say('  upload with the default cluster list while GET /v1/node and GET /v1/jobs are polled…');
    const session = await dialProbe();
    const stopApi = new AbortController();
    const apiProbes = Promise.all([
      probe(() => getJson(session, '/v1/node', alpha.uuid), stopApi.signal, 20),
      probe(() => controlCall(alpha.home, 'GET', '/v1/jobs'), stopApi.signal, 20),
    ]);
    await phase('api', () => upload('api')().finally(() => stopApi.abort()));
    const [node, control] = await apiProbes;
    session.close();

    const cliIdle: number[] = [];
    let cli: number[] = [];
    if (!quick) {
      say('  upload with the default cluster list while "arozdfs jobs list" runs over and over…');
      for (let k = 0; k < 5; k++) cliIdle.push((await timed(() => jobsListProcess(alpha.home))) * 1000);
      const stopCli = new AbortController();
      const cliProbe = probe(() => jobsListProcess(alpha.home), stopCli.signal, 100);
      await phase('cli', () => upload('cli')().finally(() => stopCli.abort()));
      cli = await cliProbe;
    }
    await settled();
    const idleAfter: Figures['idleAfter'] = {};
    for (const [name, pid] of pids) idleAfter[name] = (await currentRss(pid)).idle;
    // A node keeps a transfer's rings, pooled buffers and hashing thread 10 s for the next one
    // (src/transfer/hash-lanes.ts, src/buffer-pool.ts): RSS once those are gone, and settled again.
    await delay(REST_MS);
    const idleRest: Figures['idleRest'] = {};
    for (const [name, pid] of pids) idleRest[name] = await currentRss(pid);

    for (const n of cluster.nodes) await cluster.stop(n);
    if (values['cpu-prof']) {
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread.
      for (const name of (await readdir(profiles)).sort()) {
        const [pid, thread] = name.split('.').slice(3, 5).map(Number);
        const who = [...pids].find(([, p]) => p === pid)?.[0] ?? name;
        const summary = await summarize(join(profiles, name), thread === 0 ? 12 : 3);
        const what = thread === 0 ? 'main thread' : `worker thread ${thread}`;
        out(formatSummary(`CPU profile of ${who}, ${what} (${formatSize(size)} run, all phases)`, summary));
      }
    }
    return {
      size,
      rounds,
      dd,
      plain,
      seconds,
      rss,
      cpu,
      memory,
      afterJob,
      idleAfter,
      idleRest,
      ...(st === undefined ? {} : { syncthing: { rounds: sync, idle: syncthingIdle ?? [0, 0] } }),
      node: latency(node),
      control: latency(control),
      cli: latency(cli),
      cliIdle: latency(cliIdle),
    };
  } finally {
    await pair?.stop();
    await cluster.destroy();
  }
}

const { nodeFlags, note: tuningNote } = daemonTuning();
out(tuningNote);
const version = values['no-syncthing'] ? undefined : await findSyncthing();
if (version === undefined && !values['no-syncthing']) {
  out(
    'Note: syncthing is not installed (apt-get install syncthing): Syncthing A → B is left out of this run.',
  );
} else if (version !== undefined) {
  out(`Syncthing beside arozdfs: ${version.split(' ').slice(0, 2).join(' ')}, loopback only.`);
}
const all: Figures[] = [];
for (const size of sizes) {
  // Big files: at most 2 rounds (each round's copies stay on disk until the cluster is removed).
  const figures = await measure(
    size,
    size > 1024 * MiB ? Math.min(rounds, 2) : rounds,
    version !== undefined,
  );
  report(figures, chunkSize);
  all.push(figures);
}
if (all.length > 1) {
  out('Peak RSS [private] of each node over all phases, by file size (flat: memory does not grow with it):');
  const most = (r: PerPhase) => mib(Math.max(...PHASES.flatMap((ph) => r[ph])));
  for (const f of all) {
    const peaks = Object.entries(f.rss).map(([n, r]) => `${n} ${most(r.peak)} [${most(r.anon)}]`);
    out(`  ${formatSize(f.size).padEnd(8)} ${peaks.join(', ')}`);
  }
}
