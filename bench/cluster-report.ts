/**
 * The figures of one `bench/cluster.ts` run for one file size, and how they are printed: MB/s and
 * ratios to the plain pipelines, CPU seconds per GiB of every process, peak memory per phase and
 * where it was, status latency, and whether each target of the benchmark was met.
 */
import { formatSize } from '../src/size.ts';
import type { PlainFigures } from './cluster-baselines.ts';
import { formatLatency, formatMemory, type Latency, type MemoryUsage } from './cluster-probes.ts';

const MiB = 1024 * 1024;
const out = (text: string) => process.stdout.write(`${text}\n`);
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

export const PHASES = ['upload', 'download', 'api', 'cli'] as const;
export type Phase = (typeof PHASES)[number];
export type PerPhase = Record<Phase, number>;

export interface Figures {
  size: number;
  dd: number;
  plain: PlainFigures;
  seconds: PerPhase;
  /** Per node: RSS once started, and per phase the peak RSS (VmHWM) and the peak private memory. */
  rss: Record<string, { idle: number; idleAnon: number; peak: PerPhase; anon: PerPhase }>;
  /** Per node and phase: CPU seconds used (all threads). */
  cpu: Record<string, PerPhase>;
  /** Per node and phase: process.memoryUsage() at the end of the phase. */
  memory: Record<string, Partial<Record<Phase, MemoryUsage>>>;
  node: Latency;
  control: Latency;
  cli: Latency;
  cliIdle: Latency;
}

export function report(f: Figures, chunkSize: number): void {
  const row = (label: string, seconds: number, base?: number) => {
    const rate = f.size / 1e6 / seconds;
    const ratio = base === undefined ? '' : `  ${((100 * base) / seconds).toFixed(0).padStart(3)} % of plain`;
    out(`  ${label.padEnd(64)} ${rate.toFixed(0).padStart(5)} MB/s${ratio}`);
  };
  out(`${formatSize(f.size)} file, ${formatSize(chunkSize)} chunks, 2 copies, 3 node processes:`);
  row('arozdfs upload alpha → beta + gamma (both copies over TLS)', f.seconds.upload, f.plain.up);
  row('arozdfs download on alpha from beta + gamma', f.seconds.download, f.plain.down);
  row('plain upload: TLS + SHA-256 + write + fdatasync, 2 receivers', f.plain.up);
  row('plain download: read + TLS + SHA-256 + write', f.plain.down);
  row('dd bs=1M conv=fdatasync, the same bytes twice at once', f.dd);
  row('arozdfs upload, default cluster list (3 nodes), API probes', f.seconds.api);
  row('arozdfs upload, default cluster list, "jobs list" processes', f.seconds.cli);
  const gib = f.size / 1024 ** 3;
  const perGib = (x: number) => (x / gib).toFixed(2);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const ours = (p: Phase) => {
    const each = Object.entries(f.cpu).map(([n, c]) => [n, c[p]] as const);
    return `${each.map(([n, c]) => `${n} ${perGib(c)}`).join(', ')} = ${perGib(sum(each.map(([, c]) => c)))}`;
  };
  const pc = f.plain.cpu;
  out('  CPU seconds per GiB of file, all threads (this machine has 2 vCPU: 2 CPU seconds per second):');
  out(`    arozdfs upload:   ${ours('upload')}`);
  out(
    `    plain upload:     sender ${perGib(pc.up.sender)}, servers ${pc.up.servers.map(perGib).join(' + ')} = ${perGib(pc.up.sender + sum(pc.up.servers))}`,
  );
  out(`    arozdfs download: ${ours('download')}`);
  out(
    `    plain download:   downloader ${perGib(pc.down.downloader)}, servers ${pc.down.servers.map(perGib).join(' + ')} = ${perGib(pc.down.downloader + sum(pc.down.servers))}`,
  );
  out('  peak RSS (VmHWM) [private: RssAnon] per node: idle → upload, download, upload+API, upload+CLI');
  for (const [name, r] of Object.entries(f.rss)) {
    const at = (p: Phase) => `${mib(r.peak[p])} [${mib(r.anon[p])}]`;
    out(`    ${name.padEnd(6)} ${mib(r.idle)} [${mib(r.idleAnon)}] → ${PHASES.map(at).join(', ')}`);
  }
  out('  where the memory of each node was at the end of its largest phase (process.memoryUsage()):');
  for (const [name, r] of Object.entries(f.rss)) {
    const worst = PHASES.reduce((a, b) => (r.anon[b] > r.anon[a] ? b : a));
    out(`    ${name.padEnd(6)} after ${worst.padEnd(8)} ${formatMemory(f.memory[name]?.[worst])}`);
  }
  const p = f.plain.rss;
  out(
    `  peak RSS of the plain pipeline: sender ${mib(p.sender)}, servers ${p.servers.map(mib).join(' and ')}, downloader ${mib(p.downloader)}`,
  );
  out(`  GET /v1/node on alpha during the upload:   ${formatLatency(f.node)}`);
  out(`  GET /v1/jobs (control socket), same time:  ${formatLatency(f.control)}`);
  out(`  "arozdfs jobs list" process, during upload: ${formatLatency(f.cli)}`);
  out(`  "arozdfs jobs list" process, idle node:     ${formatLatency(f.cliIdle)}`);
  const peak = Math.max(...Object.values(f.rss).flatMap((r) => PHASES.map((ph) => r.peak[ph])));
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  out(
    `  targets: upload ≥ 80 % ${met(f.plain.up / f.seconds.upload >= 0.8)}, download ≥ 80 % ${met(f.plain.down / f.seconds.download >= 0.8)}, RSS < 100 MiB ${met(peak < 100 * MiB)} (peak ${mib(peak)}), status p99 < 50 ms ${met(f.node.p99 < 50 && f.control.p99 < 50)}`,
  );
}
