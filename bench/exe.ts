/**
 * `npm run bench:exe`: the single executable (dist/arozdfs, built first when missing) against the
 * checkout's ways to run the CLI — its size, the start-up time of `--version` (median of --runs), and
 * the resident memory of an idle `serve` (the whole process tree: npx keeps npm running above the
 * node) a few seconds after it is ready. Prints one table; `--json` prints the figures.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { benchArgs, numberArg } from './args.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = benchArgs({
  options: {
    runs: { type: 'string', default: '15' },
    settle: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const runs = numberArg(values.runs, 'runs');
const settleSeconds = numberArg(values.settle, 'settle', { min: 0, fraction: true });
const exe = join(ROOT, 'dist', 'arozdfs');
if (!existsSync(exe))
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-exe.ts')], { stdio: 'inherit' });

const ways: Array<{ name: string; command: string[] }> = [
  { name: 'dist/arozdfs (single executable)', command: [exe] },
  { name: 'node src/cli.ts', command: [process.execPath, join(ROOT, 'src', 'cli.ts')] },
  { name: 'npx arozdfs', command: ['npx', '--no-install', 'arozdfs'] },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function startupMs(command: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    execFileSync(command[0]!, [...command.slice(1), '--version'], { cwd: ROOT, stdio: 'ignore' });
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** A process and all its descendants. */
function descendants(pid: number): number[] {
  const found: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    found.push(p);
    try {
      for (const child of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/)) {
        if (child !== '') stack.push(Number(child));
      }
    } catch {
      // gone
    }
  }
  return found;
}

/** VmRSS of one process in KiB (0 once it is gone). */
function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function idleRssMiB(command: string[]): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'arozdfs-bench-exe-'));
  try {
    const home = join(dir, 'home');
    execFileSync(command[0]!, [...command.slice(1), '--home', home, 'init', '--name', 'bench'], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    const args = [
      '--home',
      home,
      '--json',
      'serve',
      '--listen',
      '127.0.0.2:0',
      '--no-discovery',
      '--web',
      '127.0.0.2:0',
    ];
    const child = spawn(command[0]!, [...command.slice(1), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    await new Promise<void>((ready, fail) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if ((JSON.parse(line) as { type?: string }).type === 'ready') ready();
      });
      child.once('exit', (code) => fail(new Error(`serve exited with ${code}`)));
    });
    await delay(settleSeconds * 1000); // a measurement, not a synchronisation: let start-up work end
    const tree = descendants(child.pid!);
    const rss = tree.reduce((sum, pid) => sum + rssKiB(pid), 0) / 1024;
    // npx's npm does not always pass SIGTERM on: stop the node itself too, and wait until all are gone.
    for (const pid of tree.reverse()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await exited;
    const deadline = performance.now() + 30_000;
    while (tree.some((pid) => existsSync(`/proc/${pid}`)) && performance.now() < deadline) await delay(100);
    child.stdout?.destroy();
    return rss;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (const way of ways) {
  rows.push({ way: way.name, startupMs: startupMs(way.command), idleRssMiB: await idleRssMiB(way.command) });
}
const sizeMiB = statSync(exe).size / 2 ** 20;
if (values.json) {
  console.log(JSON.stringify({ sizeMiB, runs, rows }));
} else {
  console.log(
    `dist/arozdfs: ${sizeMiB.toFixed(1)} MiB; --version median of ${runs} runs; idle serve RSS (process tree)`,
  );
  for (const r of rows) {
    console.log(
      `  ${r.way.padEnd(34)} start-up ${r.startupMs.toFixed(0).padStart(5)} ms   idle RSS ${r.idleRssMiB.toFixed(1).padStart(6)} MiB`,
    );
  }
}
