/**
 * The figures of one `bench/cluster.ts` run for one file size, and how they are printed: medians of
 * the rounds in MB/s with ratios to the baselines of the same run (plain pipelines, Syncthing A → B),
 * CPU seconds per GiB and cores kept busy, peak and idle RSS of every daemon, RSS after each
 * successive job, where the memory was, status latency, and whether each target was met.
 */
import { formatSize } from '../src/size.ts';
import type { PlainFigures } from './cluster-baselines.ts';
import { formatLatency, formatMemory, type Latency, type MemoryUsage } from './cluster-probes.ts';
import type { SyncthingRound } from './syncthing.ts';

const MiB = 1024 * 1024;
const out = (text: string) => process.stdout.write(`${text}\n`);
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

export const PHASES = ['upload', 'download', 'api', 'cli'] as const;
export type Phase = (typeof PHASES)[number];
/** One value per time the phase ran. */
export type PerPhase = Record<Phase, number[]>;

export interface Figures {
  size: number;
  rounds: number;
  dd: number[];
  plain: PlainFigures[];
  seconds: PerPhase;
  /** Per node: RSS once started, and per phase the peak RSS (VmHWM) and the peak private memory. */
  rss: Record<string, { idle: number; idleAnon: number; peak: PerPhase; anon: PerPhase }>;
  /** Per node and phase: CPU seconds used (all threads). */
  cpu: Record<string, PerPhase>;
  /** Per node and phase: process.memoryUsage() at the end of the phase. */
  memory: Record<string, Partial<Record<Phase, MemoryUsage>>>;
  /** Per node: RSS (VmRSS) after each successive job, and once all jobs are over. */
  afterJob: Record<string, number[]>;
  idleAfter: Record<string, number>;
  /** Per node: RSS and private memory 15 s after the last job, once what a node keeps for the next transfer is gone. */
  idleRest: Record<string, { idle: number; idleAnon: number }>;
  syncthing?: { rounds: SyncthingRound[]; idle: [number, number] };
  node: Latency;
  control: Latency;
  cli: Latency;
  cliIdle: Latency;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const max = (xs: readonly number[]) => Math.max(0, ...xs);

export function report(f: Figures, chunkSize: number): void {
  const gib = f.size / 1024 ** 3;
  const plainUp = median(f.plain.map((p) => p.up));
  const plainDown = median(f.plain.map((p) => p.down));
  const st = f.syncthing;
  const stTotal = st === undefined ? undefined : median(st.rounds.map((r) => r.total));
  // A round's download reads chunks its upload has just written (O_DIRECT on the holders: from the
  // disk); the successive jobs after the rounds download the first file again, whose copies are then
  // in the holders' page cache. Their figures are kept apart.
  const downloads = f.seconds.download.map((_, k) => k);
  const fresh = downloads.slice(0, f.rounds);
  const again = downloads.slice(f.rounds);
  const ours = {
    upload: median(f.seconds.upload),
    download: median(fresh.map((k) => f.seconds.download[k] ?? Number.NaN)),
  };
  const row = (label: string, seconds: number, cpu: number | undefined, ...bases: (number | undefined)[]) => {
    const rate = f.size / 1e6 / seconds;
    const used =
      cpu === undefined
        ? ''
        : `${(cpu / gib).toFixed(2).padStart(6)} CPU s/GiB ${(cpu / seconds).toFixed(2)} cores`;
    const ratios = bases
      .map((b, k) =>
        b === undefined
          ? ''
          : `${((100 * b) / seconds).toFixed(0).padStart(4)} % of ${k === 0 ? 'plain' : 'Syncthing'}`,
      )
      .join(' ');
    out(`  ${label.padEnd(58)} ${rate.toFixed(0).padStart(5)} MB/s ${used.padEnd(30)} ${ratios}`);
  };
  const nodeCpu = (p: Phase, ks = f.seconds[p].map((_, k) => k)) =>
    median(ks.map((k) => sum(Object.values(f.cpu).map((c) => c[p][k] ?? 0))));
  const plainCpu = (up: boolean) =>
    median(
      f.plain.map((p) =>
        up ? p.cpu.up.sender + sum(p.cpu.up.servers) : p.cpu.down.downloader + sum(p.cpu.down.servers),
      ),
    );
  out(
    `${formatSize(f.size)} file, ${formatSize(chunkSize)} chunks, 2 copies, 3 node processes; medians of ${f.rounds} interleaved rounds (this machine: 2 vCPU):`,
  );
  row(
    'arozdfs upload alpha → beta + gamma (2 copies over TLS)',
    ours.upload,
    nodeCpu('upload'),
    plainUp,
    stTotal,
  );
  row(
    'arozdfs download on alpha, every chunk remote',
    ours.download,
    nodeCpu('download', fresh),
    plainDown,
    stTotal,
  );
  if (again.length > 0) {
    row(
      "  the first file again (copies in the holders' page cache)",
      median(again.map((k) => f.seconds.download[k] ?? Number.NaN)),
      nodeCpu('download', again),
      plainDown,
      stTotal,
    );
  }
  row('plain upload: TLS + SHA-256 + write + fdatasync, 2 receivers', plainUp, plainCpu(true));
  row('plain download: read + TLS + SHA-256 + write', plainDown, plainCpu(false));
  if (st !== undefined && stTotal !== undefined) {
    const stCpu = median(st.rounds.map((r) => r.cpu[0] + r.cpu[1]));
    row('Syncthing A → B (scan + transfer, one copy)', stTotal, stCpu);
    const scan = median(st.rounds.map((r) => r.scan));
    out(
      `    of which A's scan (read + hash): ${scan.toFixed(2)} s; A ${median(st.rounds.map((r) => r.cpu[0])).toFixed(1)} + B ${median(st.rounds.map((r) => r.cpu[1])).toFixed(1)} CPU s per transfer`,
    );
  }
  row('dd bs=1M conv=fdatasync, the same bytes twice at once', median(f.dd), undefined);
  if (f.seconds.api.length > 0)
    row('arozdfs upload, default cluster list, API probes', median(f.seconds.api), nodeCpu('api'));
  if (f.seconds.cli.length > 0)
    row('arozdfs upload, default cluster list, "jobs list" runs', median(f.seconds.cli), nodeCpu('cli'));
  const perGib = (x: number) => (x / gib).toFixed(2);
  const perNode = (p: Phase, ks = f.seconds[p].map((_, k) => k)) =>
    Object.entries(f.cpu)
      .map(([n, c]) => `${n} ${perGib(median(ks.map((k) => c[p][k] ?? 0)))}`)
      .join(', ');
  out('  CPU seconds per GiB by process (medians):');
  out(`    arozdfs upload:   ${perNode('upload')}`);
  out(`    arozdfs download: ${perNode('download', fresh)}`);
  if (again.length > 0) out(`      … again:        ${perNode('download', again)}`);
  const pc = (pick: (p: PlainFigures) => number) => perGib(median(f.plain.map(pick)));
  out(
    `    plain upload:     sender ${pc((p) => p.cpu.up.sender)}, servers ${pc((p) => p.cpu.up.servers[0] ?? 0)} + ${pc((p) => p.cpu.up.servers[1] ?? 0)}`,
  );
  out(
    `    plain download:   downloader ${pc((p) => p.cpu.down.downloader)}, servers ${pc((p) => p.cpu.down.servers[0] ?? 0)} + ${pc((p) => p.cpu.down.servers[1] ?? 0)}`,
  );
  out(
    "  RSS per daemon: idle at start → peak (VmHWM) [private: RssAnon] in upload, download, upload+API, upload+CLI → idle at the end, 3 s and 15 s after the last work (settled; at 15 s past the 10 s a node keeps a transfer's buffers and hashing thread)",
  );
  for (const [name, r] of Object.entries(f.rss)) {
    const at = (p: Phase) =>
      r.peak[p].length === 0 ? '–' : `${mib(max(r.peak[p]))} [${mib(max(r.anon[p]))}]`;
    out(
      `    ${name.padEnd(6)} ${mib(r.idle)} [${mib(r.idleAnon)}] → ${PHASES.map(at).join(', ')} → ${mib(f.idleAfter[name] ?? 0)}, ${mib(f.idleRest[name]?.idle ?? 0)} [${mib(f.idleRest[name]?.idleAnon ?? 0)}]`,
    );
  }
  if (st !== undefined) {
    const peaks = [0, 1].map((k) => mib(max(st.rounds.map((r) => r.peak[k] ?? 0))));
    out(`    Syncthing A, B: idle ${st.idle.map(mib).join(', ')}; peak ${peaks.join(', ')}`);
  }
  out('  RSS (VmRSS) of each daemon 3 s after each successive job, once settled (creep):');
  for (const [name, xs] of Object.entries(f.afterJob)) {
    out(`    ${name.padEnd(6)} ${xs.map((x) => (x / MiB).toFixed(0)).join(' ')} MiB`);
  }
  out('  where the memory of each node was 3 s after its largest phase (process.memoryUsage()):');
  for (const [name, r] of Object.entries(f.rss)) {
    const worst = PHASES.reduce((a, b) => (max(r.anon[b]) > max(r.anon[a]) ? b : a));
    out(`    ${name.padEnd(6)} after ${worst.padEnd(8)} ${formatMemory(f.memory[name]?.[worst])}`);
  }
  const p = (pick: (x: PlainFigures) => number) => mib(max(f.plain.map(pick)));
  out(
    `  peak RSS of the plain pipeline: sender ${p((x) => x.rss.sender)}, servers ${p((x) => x.rss.servers[0] ?? 0)} and ${p((x) => x.rss.servers[1] ?? 0)}, downloader ${p((x) => x.rss.downloader)}`,
  );
  out(`  GET /v1/node on alpha during the upload:   ${formatLatency(f.node)}`);
  out(`  GET /v1/jobs (control socket), same time:  ${formatLatency(f.control)}`);
  const loops = Object.entries(f.memory).flatMap(([name, m]) => {
    const loop = m.api?.loop;
    return loop === undefined ? [] : [`${name} p50 ${loop.p50}, p99 ${loop.p99}, max ${loop.max} ms`];
  });
  if (loops.length > 0) out(`  event loop delay in that upload: ${loops.join('; ')}`);
  out('  garbage collections per phase (major and incremental marking: count× ms):');
  for (const [name, m] of Object.entries(f.memory)) {
    const per = PHASES.flatMap((ph) => {
      const g = m[ph]?.phaseGc;
      if (g === undefined) return [];
      const of = (k: string) => `${g[k]?.[0] ?? 0}× ${(g[k]?.[1] ?? 0).toFixed(0)}`;
      return [`${ph} major ${of('major')}, incr ${of('incremental')}, minor ${of('minor')}`];
    });
    out(`    ${name.padEnd(6)} ${per.join('; ')} (last round)`);
  }
  if (f.cli.n > 0) {
    out(`  "arozdfs jobs list" process, during upload: ${formatLatency(f.cli)}`);
    out(`  "arozdfs jobs list" process, idle node:     ${formatLatency(f.cliIdle)}`);
  }
  const peak = max(Object.values(f.rss).flatMap((r) => PHASES.flatMap((ph) => r.peak[ph])));
  // Each daemon's highest peak over the phases; the target is all of them within 10 MiB.
  const highest = Object.values(f.rss).map((r) => max(PHASES.flatMap((ph) => r.peak[ph])));
  const spread = max(highest) - Math.min(...highest);
  const idle = max(Object.values(f.idleAfter));
  const rest = max(Object.values(f.idleRest).map((r) => r.idle));
  const idleStart = max(Object.values(f.rss).map((r) => r.idle));
  const creep = max(Object.values(f.afterJob).map((xs) => (xs.at(-1) ?? 0) - (xs[0] ?? 0)));
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const vsSt = (s: number, want: number) =>
    stTotal === undefined
      ? ''
      : `, ${want}× Syncthing ${met(stTotal / s >= want)} (${(stTotal / s).toFixed(2)}×)`;
  out(
    `  targets: upload ≥ 85 % of plain ${met(plainUp / ours.upload >= 0.85)}${vsSt(ours.upload, 0.8)}; download ≥ 85 % ${met(plainDown / ours.download >= 0.85)}${vsSt(ours.download, 1.3)}`,
  );
  out(
    `           peak RSS < 128 MiB ${met(peak < 128 * MiB)} (${mib(peak)}), within 10 MiB ${met(spread <= 10 * MiB)} (${mib(spread)} apart), idle < 80 MiB ${met(idle < 80 * MiB)} (${mib(idle)} 3 s after the last job, ${mib(rest)} 15 s after, ${mib(idleStart)} at start), creep ≤ 10 MiB ${met(creep <= 10 * MiB)} (${mib(creep)}), status p99 < 50 ms ${met(f.node.p99 < 50 && f.control.p99 < 50)}`,
  );
}
