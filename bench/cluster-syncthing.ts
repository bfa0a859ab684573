/**
 * Syncthing beside arozdfs in `bench/cluster.ts`: two `syncthing serve` processes (the Debian package,
 * `apt-get install syncthing`) with their own homes in the benchmark's temp folder, moving the same
 * file A → B. Everything stays on loopback: GUI/REST and sync listeners on 127.0.0.5 and 127.0.0.6,
 * each device told the other's address; global and local discovery, relays, NAT traversal, STUN,
 * upgrades, usage reporting and crash reporting are off in the config.xml written before the first
 * start. A round links the file into A's send-only folder, asks A to scan it (hashing: the REST call
 * returns when the scan is done), and waits until B's receive-only folder holds it complete (pulled,
 * checked, fsynced and renamed by Syncthing). Then the file is removed on A and the removal synced,
 * so the next round cannot copy blocks B already has.
 */
import { execFile, spawn } from 'node:child_process';
import { link, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const HOSTS = ['127.0.0.5', '127.0.0.6'] as const;
const FOLDER = 'arozdfs-bench';
const API_KEY = 'arozdfs-bench-only-loopback';
const DEADLINE_MS = 600_000;

export interface SyncthingRound {
  /** Seconds of A's scan (read + hash), and from the scan's start until B holds the whole file. */
  scan: number;
  total: number;
  /** CPU seconds of A and of B during the round. */
  cpu: [number, number];
  /** Peak RSS (VmHWM since the round began) of A and of B, bytes. */
  peak: [number, number];
}

interface Instance {
  home: string;
  dir: string;
  host: string;
  gui: number;
  sync: number;
  id: string;
  pid: number;
  exited: Promise<unknown>;
  stop: () => void;
}

/** The syncthing executable on PATH, or undefined when it is not installed. */
export async function findSyncthing(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('syncthing', ['--version']);
    return stdout.trim();
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

function configXml(self: Instance, other: Instance): string {
  const device = (d: Instance) => `
    <device id="${d.id}" name="${d.host}" compression="metadata" introducer="false">
        <address>tcp://${d.host}:${d.sync}</address>
        <autoAcceptFolders>false</autoAcceptFolders>
    </device>`;
  const type = self.host === HOSTS[0] ? 'sendonly' : 'receiveonly';
  return `<configuration version="36">
    <folder id="${FOLDER}" label="${FOLDER}" path="${self.dir}" type="${type}" rescanIntervalS="0" fsWatcherEnabled="false" ignorePerms="false" autoNormalize="true">
        <filesystemType>basic</filesystemType>
        <device id="${self.id}"></device>
        <device id="${other.id}"></device>
        <minDiskFree unit="%">1</minDiskFree>
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
        <urURL></urURL>
        <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
        <releasesURL></releasesURL>
        <crashReportingEnabled>false</crashReportingEnabled>
        <crashReportingURL></crashReportingURL>
        <announceLANAddresses>false</announceLANAddresses>
        <setLowPriority>false</setLowPriority>
        <restartOnWakeup>false</restartOnWakeup>
    </options>
</configuration>
`;
}

async function deviceId(home: string): Promise<string> {
  const { stdout } = await promisify(execFile)('syncthing', ['serve', '--home', home, '--device-id']);
  return stdout.trim();
}

export class SyncthingPair {
  #a: Instance;
  #b: Instance;

  private constructor(a: Instance, b: Instance) {
    this.#a = a;
    this.#b = b;
  }

  get pids(): [number, number] {
    return [this.#a.pid, this.#b.pid];
  }

  /** Generates two homes under `root`, writes their loopback-only configs, starts both and waits until they are connected. */
  static async start(root: string): Promise<SyncthingPair> {
    const made: Instance[] = [];
    for (const [k, host] of HOSTS.entries()) {
      const home = join(root, `syncthing-${k}`);
      const dir = join(root, `syncthing-${k}-folder`);
      await mkdir(join(dir, '.stfolder'), { recursive: true });
      await promisify(execFile)('syncthing', [
        'generate',
        '--home',
        home,
        '--no-default-folder',
        '--skip-port-probing',
      ]);
      const noop = () => {};
      made.push({
        home,
        dir,
        host,
        gui: await freePort(host),
        sync: await freePort(host),
        id: await deviceId(home),
        pid: 0,
        exited: Promise.resolve(),
        stop: noop,
      });
    }
    const [a, b] = made as [Instance, Instance];
    await writeFile(join(a.home, 'config.xml'), configXml(a, b));
    await writeFile(join(b.home, 'config.xml'), configXml(b, a));
    const pair = new SyncthingPair(a, b);
    try {
      for (const s of made) pair.#spawn(s);
      for (const s of made) await pair.#waitUp(s);
      await until(async () => {
        const c = (await rest(a, 'GET', '/rest/system/connections')) as {
          connections: Record<string, { connected: boolean }>;
        };
        return c.connections[b.id]?.connected === true;
      }, 'the two Syncthing instances to connect');
      return pair;
    } catch (err) {
      await pair.stop();
      throw err;
    }
  }

  #spawn(s: Instance): void {
    const child = spawn(
      'syncthing',
      ['serve', '--home', s.home, '--no-browser', '--no-restart', '--no-upgrade', '--logfile', '-'],
      {
        stdio: ['ignore', 'ignore', 'ignore'],
        // STMONITORED: run as one process (no monitor parent), so its pid is the one that works.
        env: { ...process.env, STMONITORED: '1', STNOUPGRADE: '1', STNORESTART: '1', STNODEFAULTFOLDER: '1' },
      },
    );
    s.pid = child.pid ?? 0;
    s.exited = new Promise((ok) => child.once('exit', ok));
    s.stop = () => child.kill('SIGTERM');
  }

  async #waitUp(s: Instance): Promise<void> {
    await until(async () => {
      const status = (await rest(s, 'GET', '/rest/system/status').catch(() => undefined)) as
        | { myID?: string }
        | undefined;
      return status?.myID === s.id;
    }, `Syncthing on ${s.host} to answer`);
  }

  /** Moves `file` (size `size`) A → B once; see the module comment. */
  async round(
    file: string,
    size: number,
    name: string,
    cpu: (pid: number) => Promise<number>,
    peak: {
      reset: (pid: number) => Promise<void>;
      read: (pid: number) => Promise<number>;
    },
  ): Promise<SyncthingRound> {
    const a = this.#a;
    const b = this.#b;
    for (const s of [a, b]) await peak.reset(s.pid);
    const cpu0 = await Promise.all([a.pid, b.pid].map(cpu));
    const started = performance.now();
    await link(file, join(a.dir, name));
    await rest(a, 'POST', `/rest/db/scan?folder=${FOLDER}&sub=${encodeURIComponent(name)}`);
    const scanned = performance.now();
    await until(
      async () => {
        const got = await stat(join(b.dir, name)).catch(() => undefined);
        if (got?.size !== size) return false;
        const status = (await rest(b, 'GET', `/rest/db/status?folder=${FOLDER}`)) as {
          needFiles: number;
          state: string;
        };
        return status.needFiles === 0 && status.state === 'idle';
      },
      `Syncthing B to hold "${name}"`,
      20,
    );
    const ended = performance.now();
    const cpu1 = await Promise.all([a.pid, b.pid].map(cpu));
    const peaks = await Promise.all([a.pid, b.pid].map(peak.read));
    // Remove it everywhere before the next round, so no block is found locally on B.
    await rm(join(a.dir, name));
    await rest(a, 'POST', `/rest/db/scan?folder=${FOLDER}&sub=${encodeURIComponent(name)}`);
    await until(
      async () => (await stat(join(b.dir, name)).catch(() => undefined)) === undefined,
      `Syncthing B to remove "${name}"`,
    );
    return {
      scan: (scanned - started) / 1000,
      total: (ended - started) / 1000,
      cpu: [(cpu1[0] ?? 0) - (cpu0[0] ?? 0), (cpu1[1] ?? 0) - (cpu0[1] ?? 0)],
      peak: [peaks[0] ?? 0, peaks[1] ?? 0],
    };
  }

  /** Stops both (SIGTERM, then SIGKILL after 10 s). Idempotent. */
  async stop(): Promise<void> {
    for (const s of [this.#a, this.#b]) {
      if (s.pid === 0) continue;
      s.stop();
      const timer = setTimeout(() => process.kill(s.pid, 'SIGKILL'), 10_000);
      await s.exited;
      clearTimeout(timer);
      s.pid = 0;
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

/** Polls `check` every `everyMs` until it is true; fails after the deadline. */
async function until(check: () => Promise<boolean>, what: string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Gave up waiting for ${what}`);
    await sleep(everyMs);
  }
}
