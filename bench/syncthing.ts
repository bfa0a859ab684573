/**
 * Syncthing beside arozdfs, for `bench/cluster.ts` (one file A → B per round) and
 * `bench/small-files.ts` (a whole folder A → B): two `syncthing serve` processes (the Debian package,
 * `apt-get install syncthing`) with their own homes in the benchmark's temp folder. Everything stays
 * on loopback: GUI/REST and sync listeners on 127.0.0.5 and 127.0.0.6, each device told the other's
 * address; global and local discovery, relays, NAT traversal, STUN, upgrades, usage reporting and
 * crash reporting are off in the config.xml written before the first start. A shares its folder
 * send-only, B receives it receive-only.
 *
 * `syncthing serve` is a monitor process that runs Syncthing itself as its child (even with
 * --no-restart): CPU and RSS count the monitor and its children, and stop() ends both (a child may
 * outlive its monitor).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { link, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { cpuSeconds, peakRss, resetPeak } from './cluster-probes.ts';

const HOSTS = ['127.0.0.5', '127.0.0.6'] as const;
const API_KEY = 'arozdfs-bench-only-loopback';
const DEADLINE_MS = 600_000;
const run = promisify(execFile);

export interface SyncthingRound {
  /** Seconds of A's scan (read + hash), and from the scan's start until B holds the whole file. */
  scan: number;
  total: number;
  /** CPU seconds of A and of B (each its monitor and children) during the round. */
  cpu: [number, number];
  /** Peak RSS (VmHWM since the round began, summed over each one's processes) of A and of B, bytes. */
  peak: [number, number];
}

export interface PairOptions {
  /** A's folder (default: a new one under root); stop() removes the .stfolder marker made in it. */
  folder?: string;
  folderId?: string;
  /** Seconds between rescans (0: only the scan at start and those asked for). */
  rescanS?: number;
  compression?: 'metadata' | 'never';
}

interface Instance {
  home: string;
  dir: string;
  host: string;
  gui: number;
  sync: number;
  id: string;
  child: ChildProcess | undefined;
  /** Processes found below the monitor (kept: they may outlive it). */
  below: number[];
}

/** The version line of the syncthing on PATH, or undefined when it is not installed. */
export async function findSyncthing(): Promise<string | undefined> {
  try {
    return (await run('syncthing', ['--version'])).stdout.trim();
  } catch {
    return undefined;
  }
}

async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, host, ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

function configXml(self: Instance, other: Instance, type: string, o: Required<PairOptions>): string {
  const device = (d: Instance) => `
    <device id="${d.id}" name="${d.host}" compression="${o.compression}" introducer="false">
        <address>tcp://${d.host}:${d.sync}</address>
        <autoAcceptFolders>false</autoAcceptFolders>
    </device>`;
  return `<configuration version="36">
    <folder id="${o.folderId}" label="${o.folderId}" path="${self.dir}" type="${type}" rescanIntervalS="${o.rescanS}" fsWatcherEnabled="false" ignorePerms="false" autoNormalize="true">
        <filesystemType>basic</filesystemType>
        <device id="${self.id}"></device>
        <device id="${other.id}"></device>
        <minDiskFree unit="%">0</minDiskFree>
        <hashers>0</hashers>
        <order>random</order>
        <markerName>.stfolder</markerName>
        <maxConcurrentWrites>2</maxConcurrentWrites>
        <disableFsync>false</disableFsync>
    </folder>${device(self)}${device(other)}
    <gui enabled="true" tls="false" debugging="false">
        <address>${self.host}:${self.gui}</address>
        <apikey>${API_KEY}</apikey>
    </gui>
    <options>
        <listenAddress>tcp://${self.host}:${self.sync}</listenAddress>
        <globalAnnounceServer></globalAnnounceServer>
        <globalAnnounceEnabled>false</globalAnnounceEnabled>
        <localAnnounceEnabled>false</localAnnounceEnabled>
        <relaysEnabled>false</relaysEnabled>
        <natEnabled>false</natEnabled>
        <stunServer></stunServer>
        <stunKeepaliveStartS>0</stunKeepaliveStartS>
        <stunKeepaliveMinS>0</stunKeepaliveMinS>
        <startBrowser>false</startBrowser>
        <urAccepted>-1</urAccepted>
        <urSeen>3</urSeen>
        <urURL></urURL>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <releasesURL></releasesURL>
        <crashReportingEnabled>false</crashReportingEnabled>
        <crashReportingURL></crashReportingURL>
        <announceLANAddresses>false</announceLANAddresses>
        <setLowPriority>false</setLowPriority>
        <restartOnWakeup>false</restartOnWakeup>
        <minHomeDiskFree unit="%">0</minHomeDiskFree>
    </options>
</configuration>
`;
}

/** Processes whose parent is one of `pids`, and theirs (from each process's /proc/PID/stat). */
async function descendants(pids: number[]): Promise<number[]> {
  const parentOf = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const text = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // The parent's pid is the 2nd field after the command name (which may hold spaces).
    if (text !== '') parentOf.set(Number(name), Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const found: number[] = [];
  let level = pids;
  while (level.length > 0) {
    level = [...parentOf].filter(([, ppid]) => level.includes(ppid)).map(([pid]) => pid);
    found.push(...level);
  }
  return found;
}

const alive = (pid: number) =>
  readFile(`/proc/${pid}/stat`, 'utf8').then(
    (t) => !/^\d+ \(.*\) Z/s.test(t),
    () => false,
  );

export class SyncthingPair {
  readonly folders: [string, string];
  #a: Instance;
  #b: Instance;
  #options: Required<PairOptions>;
  #failed: string | undefined;

  private constructor(a: Instance, b: Instance, options: Required<PairOptions>) {
    this.#a = a;
    this.#b = b;
    this.#options = options;
    this.folders = [a.dir, b.dir];
  }

  /** Generates two homes under `root` and writes their loopback-only configs; starts nothing. */
  static async create(root: string, options: PairOptions = {}): Promise<SyncthingPair> {
    const o = { folderId: 'arozdfs-bench', rescanS: 0, compression: 'metadata' as const, ...options };
    const made: Instance[] = [];
    for (const [k, host] of HOSTS.entries()) {
      const home = join(root, `syncthing-${k}`);
      const dir =
        k === 0 && options.folder !== undefined ? options.folder : join(root, `syncthing-${k}-folder`);
      // Syncthing marks a folder with .stfolder; it must exist before the folder is scanned.
      await mkdir(join(dir, '.stfolder'), { recursive: true });
      await run('syncthing', ['generate', '--home', home, '--no-default-folder', '--skip-port-probing']);
      const id = (await run('syncthing', ['serve', '--home', home, '--device-id'])).stdout.trim();
      made.push({
        home,
        dir,
        host,
        gui: await freePort(host),
        sync: await freePort(host),
        id,
        child: undefined,
        below: [],
      });
    }
    const [a, b] = made as [Instance, Instance];
    const full = { folder: a.dir, ...o };
    await writeFile(join(a.home, 'config.xml'), configXml(a, b, 'sendonly', full));
    await writeFile(join(b.home, 'config.xml'), configXml(b, a, 'receiveonly', full));
    return new SyncthingPair(a, b, full);
  }

  /** create(), start() and ready(): both running and connected to each other. */
  static async start(root: string, options: PairOptions = {}): Promise<SyncthingPair> {
    const pair = await SyncthingPair.create(root, options);
    try {
      pair.start();
      await pair.ready();
      return pair;
    } catch (err) {
      await pair.stop();
      throw err;
    }
  }

  /** Why a Syncthing process exited before stop(), if one did. */
  get failed(): string | undefined {
    return this.#failed;
  }

  /** The `syncthing serve` processes spawned by start() (0 before). */
  get monitors(): [number, number] {
    return [this.#a.child?.pid ?? 0, this.#b.child?.pid ?? 0];
  }

  /** Spawns both monitors (returns at once). */
  start(): void {
    for (const s of [this.#a, this.#b]) {
      const args = ['serve', '--home', s.home, '--no-browser', '--no-restart', '--no-upgrade'];
      const env = { ...process.env, HOME: s.home, STNOUPGRADE: '1', STNODEFAULTFOLDER: '1' };
      const child = spawn('syncthing', args, { stdio: ['ignore', 'ignore', 'pipe'], env });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr = (stderr + d).slice(-2000);
      });
      child.once('exit', (code) => {
        if (s.child !== undefined)
          this.#failed ??= `Syncthing (${s.home}) exited with code ${code}: ${stderr}`;
      });
      s.child = child;
    }
  }

  /** Waits until both answer on REST and A is connected to B. */
  async ready(): Promise<void> {
    for (const s of [this.#a, this.#b]) {
      await this.#until(async () => {
        const status = (await rest(s, 'GET', '/rest/system/status').catch(() => undefined)) as
          | { myID?: string }
          | undefined;
        return status?.myID === s.id;
      }, `Syncthing on ${s.host} to answer`);
    }
    await this.#until(async () => {
      const c = (await rest(this.#a, 'GET', '/rest/system/connections')) as {
        connections: Record<string, { connected: boolean }>;
      };
      return c.connections[this.#b.id]?.connected === true;
    }, 'the two Syncthing instances to connect');
  }

  /** A's and B's processes: the monitor, then those below it (waiting up to 10 s for them to appear). */
  async processes(): Promise<[number[], number[]]> {
    const deadline = Date.now() + 10_000;
    const groups: number[][] = [];
    for (const s of [this.#a, this.#b]) {
      const pid = s.child?.pid ?? 0;
      // A monitor that has exited starts nothing more (its children were found before, or never ran).
      while (
        s.below.length === 0 &&
        s.child?.exitCode === null &&
        s.child.signalCode === null &&
        Date.now() < deadline
      ) {
        s.below = await descendants([pid]);
        if (s.below.length === 0) await sleep(50);
      }
      groups.push([pid, ...s.below]);
    }
    return groups as [number[], number[]];
  }

  /** Resident memory of A and of B now (VmRSS summed over each one's processes), bytes. */
  async rss(): Promise<[number, number]> {
    const sum = async (pids: number[]) => {
      let total = 0;
      for (const pid of pids) {
        const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        total += Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
      }
      return total;
    };
    const [a, b] = await this.processes();
    return [await sum(a), await sum(b)];
  }

  /**
   * Moves `file` (size `size`) A → B once, as `name`: links it into A's folder, asks A to scan it
   * (the REST call returns when the scan is done) and waits until B's folder holds it complete
   * (pulled, checked, fsynced and renamed by Syncthing). Then it is removed on A and the removal
   * synced, so the next round cannot copy blocks B already has.
   */
  async round(file: string, size: number, name: string): Promise<SyncthingRound> {
    const a = this.#a;
    const b = this.#b;
    const folder = this.#options.folderId;
    const groups = await this.processes();
    for (const pid of groups.flat()) await resetPeak(pid).catch(() => {});
    const cpu = async () => {
      const each = async (pids: number[]) => {
        let total = 0;
        for (const pid of pids) total += await cpuSeconds(pid).catch(() => 0);
        return total;
      };
      return [await each(groups[0]), await each(groups[1])];
    };
    const cpu0 = await cpu();
    const started = performance.now();
    await link(file, join(a.dir, name));
    await rest(a, 'POST', `/rest/db/scan?folder=${folder}&sub=${encodeURIComponent(name)}`);
    const scanned = performance.now();
    await this.#until(
      async () => {
        const got = await stat(join(b.dir, name)).catch(() => undefined);
        if (got?.size !== size) return false;
        const status = (await rest(b, 'GET', `/rest/db/status?folder=${folder}`)) as {
          needFiles: number;
          state: string;
        };
        return status.needFiles === 0 && status.state === 'idle';
      },
      `Syncthing B to hold "${name}"`,
      20,
    );
    const ended = performance.now();
    const cpu1 = await cpu();
    const peak = async (pids: number[]) => {
      let total = 0;
      for (const pid of pids) total += await peakRss(pid).catch(() => 0);
      return total;
    };
    const peaks: [number, number] = [await peak(groups[0]), await peak(groups[1])];
    // Remove it everywhere before the next round, so no block is found locally on B.
    await rm(join(a.dir, name));
    await rest(a, 'POST', `/rest/db/scan?folder=${folder}&sub=${encodeURIComponent(name)}`);
    await this.#until(
      async () => (await stat(join(b.dir, name)).catch(() => undefined)) === undefined,
      `Syncthing B to remove "${name}"`,
    );
    return {
      scan: (scanned - started) / 1000,
      total: (ended - started) / 1000,
      cpu: [(cpu1[0] ?? 0) - (cpu0[0] ?? 0), (cpu1[1] ?? 0) - (cpu0[1] ?? 0)],
      peak: peaks,
    };
  }

  /** Stops every process it started and those below them (SIGTERM, SIGKILL after 10 s). Idempotent. */
  async stop(): Promise<void> {
    // A monitor that is running starts its child soon: wait for it, so it is not left behind.
    await this.processes();
    const monitors = [this.#a, this.#b].flatMap((s) => (s.child?.pid === undefined ? [] : [s.child.pid]));
    const all = [...monitors, ...this.#a.below, ...this.#b.below, ...(await descendants(monitors))];
    const started = [this.#a.child, this.#b.child];
    this.#a.child = undefined;
    this.#b.child = undefined;
    const signal = (pids: number[], name: NodeJS.Signals) => {
      for (const pid of pids) {
        try {
          process.kill(pid, name);
        } catch {
          // Gone already.
        }
      }
    };
    signal([...new Set(all)], 'SIGTERM');
    const deadline = Date.now() + 10_000;
    let left = all;
    while (left.length > 0) {
      if (Date.now() > deadline) signal(left, 'SIGKILL');
      await sleep(50);
      left = (await Promise.all(left.map(async (pid) => ((await alive(pid)) ? [pid] : [])))).flat();
    }
    await Promise.all(
      started.map((c) =>
        c === undefined || c.exitCode !== null || c.signalCode !== null
          ? undefined
          : new Promise((r) => c.once('exit', r)),
      ),
    );
    this.#a.below = [];
    this.#b.below = [];
    await rm(join(this.#a.dir, '.stfolder'), { recursive: true, force: true });
  }

  /** Polls `check` every `everyMs` until it is true; fails after the deadline or if Syncthing exited. */
  async #until(check: () => Promise<boolean>, what: string, everyMs = 100): Promise<void> {
    const deadline = Date.now() + DEADLINE_MS;
    while (!(await check())) {
      if (this.#failed !== undefined) throw new Error(this.#failed);
      if (Date.now() > deadline) throw new Error(`Gave up waiting for ${what}`);
      await sleep(everyMs);
    }
  }
}

async function rest(s: Instance, method: string, path: string): Promise<unknown> {
  const res = await fetch(`http://${s.host}:${s.gui}${path}`, {
    method,
    headers: { 'X-API-Key': API_KEY },
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`Syncthing ${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text === '' ? undefined : JSON.parse(text);
}
