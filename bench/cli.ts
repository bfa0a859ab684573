/**
 * `npm run bench:cli [-- --rounds 10] [--compare DIR]`: start-up of the CLI against an idle daemon,
 * beside a bare `node -e 0` measured in the same run (issue 16: < 150 ms wall, < 60 MiB RSS;
 * figures and ratios, never timed assertions).
 *
 * Makes a node home in a temp folder and starts its daemon (`serve --no-discovery --web off` on
 * 127.0.0.2), then runs, in interleaved rounds, `node -e 0`, `arozdfs --version`, `jobs list` and
 * `cluster nodes` through bin/arozdfs.js, each a real process. Each process reports its own CPU time
 * and peak RSS at exit through a preloaded hook (the baseline has the same hook); wall time is from
 * spawn to exit. The same commands run once more with NODE_DISABLE_COMPILE_CACHE=1 to show what the
 * compile cache does. `--compare DIR` also runs DIR/bin/arozdfs.js (another checkout: the figures
 * before a change). Prints medians. Stops the daemon and removes everything it made.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initHome } from '../src/home/init.ts';
import { benchArgs, numberArg } from './args.ts';

const BIN = new URL('../bin/arozdfs.js', import.meta.url).pathname;
const MiB = 1024 * 1024;

const { values } = benchArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    compare: { type: 'string' },
  },
});
const rounds = numberArg(values.rounds, 'rounds');

interface Sample {
  wallMs: number;
  cpuMs: number;
  rssBytes: number;
}

interface Case {
  label: string;
  args: string[];
  env?: Record<string, string>;
  samples: Sample[];
}

const work = await mkdtemp(join(tmpdir(), 'arozdfs-bench-cli-'));
const home = join(work, 'home');
// Reports the process's CPU time and peak RSS on fd 3 as it exits.
const report = join(work, 'report.mjs');
await writeFile(
  report,
  `import { writeSync } from 'node:fs';
process.on('exit', () => {
  const u = process.resourceUsage();
  writeSync(3, JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, rssBytes: u.maxRSS * 1024 }));
});
`,
);
let daemon: ChildProcess | undefined;
try {
  await initHome(home, { name: 'bench-cli' });
  daemon = await startDaemon(home);

  const cases: Case[] = [{ label: 'node -e 0 (baseline)', args: ['-e', '0'], samples: [] }];
  const clis: Array<[string, string]> = [['', BIN]];
  if (values.compare !== undefined)
    clis.push([' [compare]', join(resolve(values.compare), 'bin/arozdfs.js')]);
  for (const [suffix, bin] of clis) {
    for (const [label, args] of [
      ['arozdfs --version', ['--version']],
      ['arozdfs jobs list', ['--home', home, 'jobs', 'list']],
      ['arozdfs cluster nodes', ['--home', home, 'cluster', 'nodes']],
    ] as const) {
      cases.push({ label: `${label}${suffix}`, args: [bin, ...args], samples: [] });
    }
  }
  const uncached = cases
    .filter((c) => c.label.startsWith('arozdfs') && !c.label.endsWith(']'))
    .map((c) => ({
      label: `${c.label} (no compile cache)`,
      args: c.args,
      env: { NODE_DISABLE_COMPILE_CACHE: '1' },
      samples: [],
    }));
  cases.push(...uncached);

  for (const c of cases) await measure(c); // warm-up: fills the compile cache and the page cache
  for (let round = 1; round <= rounds; round++) {
    process.stderr.write(`Round ${round}/${rounds} …\n`);
    for (const c of cases) c.samples.push(await measure(c));
  }

  const base = cases[0] as Case;
  const baseWall = median(base.samples.map((s) => s.wallMs));
  const baseRss = median(base.samples.map((s) => s.rssBytes));
  const rows = cases.map((c) => {
    const wall = median(c.samples.map((s) => s.wallMs));
    const cpu = median(c.samples.map((s) => s.cpuMs));
    const rss = median(c.samples.map((s) => s.rssBytes));
    return [
      c.label,
      `${wall.toFixed(0)} ms`,
      `${(wall - baseWall).toFixed(0)} ms`,
      `${cpu.toFixed(0)} ms`,
      `${(rss / MiB).toFixed(1)} MiB`,
      `${((rss - baseRss) / MiB).toFixed(1)} MiB`,
    ];
  });
  console.log(`CLI start-up against an idle daemon: medians of ${rounds} interleaved rounds`);
  console.log('Targets: wall < 150 ms, RSS < 60 MiB (with the compile cache, as bin/arozdfs.js runs)\n');
  console.log(
    table(['command', 'wall', 'over node -e 0', 'CPU (user+sys)', 'peak RSS', 'over node -e 0'], rows),
  );
} finally {
  if (daemon !== undefined && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon?.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
  await rm(work, { recursive: true, force: true });
}

/** Starts `arozdfs serve` for home; resolves when its JSON `ready` line arrives. */
async function startDaemon(home: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [BIN, '--home', home, '--json', 'serve', '--listen', '127.0.0.2:0', '--web', 'off', '--no-discovery'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((ready, fail) => {
    let buffered = '';
    const onData = (d: Buffer) => {
      buffered += d.toString('utf8');
      if (buffered.split('\n').some((l) => l.includes('"type":"ready"'))) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        ready();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => fail(new Error(`The daemon exited (${code}) before it was ready`)));
  });
  return child;
}

function measure(c: Case): Promise<Sample> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', report, ...c.args], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...c.env },
    });
    let stderr = '';
    let reported = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      reported += d.toString('utf8');
    });
    child.once('error', fail);
    child.once('close', (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) {
        fail(new Error(`"${c.label}" exited with ${code}: ${stderr.trim()}`));
        return;
      }
      const { cpuMs, rssBytes } = JSON.parse(reported) as { cpuMs: number; rssBytes: number };
      done({ wallMs, cpuMs, rssBytes });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
