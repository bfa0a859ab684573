/**
 * What `bench/cluster.ts` watches while a job runs: latency samples of a status call made over and
 * over (GET /v1/node on the cluster port with a trusted identity, GET /v1/jobs on the control
 * socket, `arozdfs jobs list` as a whole process), their percentiles, and a process's peak RSS.
 */
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The launcher a user and a host application run: with the compile cache (docs/architecture.md). */
const CLI = fileURLToPath(new URL('../bin/arozdfs.js', import.meta.url));

export interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** Percentiles in ms (nearest rank). */
export function latency(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
  return { n: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted.at(-1) ?? Number.NaN };
}

export function formatLatency(l: Latency): string {
  return `p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms (n=${l.n})`;
}

/**
 * Calls `call` again and again (pausing `pauseMs` between calls) until `stop` aborts; resolves with
 * the wall time of every call that finished, in ms. A failed call fails the probe.
 */
export async function probe(
  call: () => Promise<unknown>,
  stop: AbortSignal,
  pauseMs: number,
): Promise<number[]> {
  const samples: number[] = [];
  while (!stop.aborted) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
    await sleep(pauseMs, undefined, { signal: stop }).catch(() => {});
  }
  return samples;
}

/** Runs `arozdfs --home HOME --json jobs list` as a process; rejects unless it exits 0. */
export function jobsListProcess(home: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--home', home, '--json', 'jobs', 'list'], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`"arozdfs jobs list" exited with ${code}`)),
    );
  });
}

/** Peak resident set size of a live process (VmHWM), in bytes. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmHWM for process ${pid}`);
  return Number(kib) * 1024;
}

/** Resident set size of a live process now (VmRSS), and the private part of it (RssAnon), in bytes. */
export async function currentRss(pid: number): Promise<{ idle: number; idleAnon: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { idle: kib('VmRSS') * 1024, idleAnon: kib('RssAnon') * 1024 };
}

/** Starts a new peak: VmHWM becomes the current RSS (Linux ≥ 4.0, a process of this user). */
export async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

/**
 * Samples each process's private memory (RssAnon: the heap, buffers, stacks — not the pages of the
 * node executable, which every node process shares) every `everyMs` until `stop` aborts; resolves
 * with the largest value seen per pid.
 */
export async function sampleAnon(pids: number[], stop: AbortSignal, everyMs = 50): Promise<number[]> {
  const peaks = pids.map(() => 0);
  while (!stop.aborted) {
    for (const [k, pid] of pids.entries()) {
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      const kib = Number(/^RssAnon:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
      peaks[k] = Math.max(peaks[k] ?? 0, kib * 1024);
    }
    await sleep(everyMs, undefined, { signal: stop }).catch(() => {});
  }
  return peaks;
}

export interface MemoryUsage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Garbage collections since the start, by kind: [count, milliseconds]. */
  gc?: Record<string, [number, number]>;
  /** The same since the previous report (the phase). */
  phaseGc?: Record<string, [number, number]>;
  /** Event loop delay since the previous report (the phase), in ms. */
  loop?: { p50: number; p99: number; max: number };
}

/** Asks a node started with bench/memory-report.js for its process.memoryUsage() (SIGUSR2). */
export async function memoryOf(pid: number, dir: string): Promise<MemoryUsage | undefined> {
  const path = join(dir, `${pid}.json`);
  await rm(path, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let k = 0; k < 100; k++) {
    await sleep(20);
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text !== '') return JSON.parse(text) as MemoryUsage;
  }
  return undefined;
}

export function formatMemory(m: MemoryUsage | undefined): string {
  if (m === undefined) return 'no answer';
  const mib = (b: number) => `${(b / 1048576).toFixed(0)}`;
  const native = m.rss - m.heapTotal - m.arrayBuffers;
  const gc = Object.entries(m.gc ?? {})
    .map(([kind, [n, ms]]) => `${kind} ${n}× ${ms.toFixed(0)} ms`)
    .join(', ');
  return `RSS ${mib(m.rss)} = V8 heap ${mib(m.heapTotal)} (${mib(m.heapUsed)} used) + Buffers ${mib(m.arrayBuffers)} + native and code ${mib(native)} MiB; GC so far: ${gc}`;
}

/** CPU seconds a live process has used so far, all its threads (utime + stime of /proc/PID/stat). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}
