/**
 * A cluster of real `arozdfs serve` processes for the transfer fault tests (kill -9, SIGSTOP, a
 * daemon killed and started again): node i listens on 127.0.0.(2+i) at a port picked up front, so
 * each one is started knowing every other's address (`--peer`) and a restarted node comes back on
 * the same address. Teardown wakes a stopped node (SIGCONT) before it kills it, and waits for exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NodeHome } from '../../src/home/open.ts';
import { chunkPath } from '../../src/store/disk-layout.ts';
import type { CliRun } from '../helpers/cli.ts';
import { teardown } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface ServedNode {
  home: string;
  uuid: string;
  host: string;
  port: number;
  /** The running process (a new one after `restart`). */
  child: ChildProcess;
  exited: Promise<void>;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a frozen node whose connections hang. */
  freeze(): void;
  thaw(): void;
  /** Starts the node again on the same address and home. */
  restart(): Promise<void>;
  /** What the current process wrote on stderr so far (with NODE_DEBUG=arozdfs: its traces). */
  stderr(): string;
}

/** A port free on `host` right now. */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `serve` for every home (already paired) on 127.0.0.2, .3, …; all are ready when it resolves. */
export async function startServed(t: TestContext, homes: string[]): Promise<ServedNode[]> {
  const plan = await Promise.all(
    homes.map(async (home, i) => {
      const host = `127.0.0.${2 + i}`;
      const uuid = (await NodeHome.open(home)).config.nodeUuid;
      return { home, uuid, host, port: await freePort(host) };
    }),
  );
  const nodes = plan.map((p) => {
    const peers = plan.filter((o) => o !== p).flatMap((o) => ['--peer', `${o.uuid}@${o.host}:${o.port}`]);
    const args = [CLI, '--home', p.home, '--json', 'serve', '--listen', `${p.host}:${p.port}`];
    args.push('--no-discovery', '--web', 'off', ...peers);
    const node: ServedNode = {
      ...p,
      child: undefined as unknown as ChildProcess,
      exited: Promise.resolve(),
      async kill() {
        node.child.kill('SIGCONT');
        node.child.kill('SIGKILL');
        await node.exited;
      },
      freeze: () => void node.child.kill('SIGSTOP'),
      thaw: () => void node.child.kill('SIGCONT'),
      async restart() {
        await launch(node, args);
      },
      stderr: () => '',
    };
    teardown(t).defer(() => node.kill());
    return { node, args };
  });
  await Promise.all(nodes.map(({ node, args }) => launch(node, args)));
  return nodes.map(({ node }) => node);
}

async function launch(node: ServedNode, args: string[]): Promise<void> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  node.stderr = () => stderr;
  node.child = child;
  node.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if ((JSON.parse(line) as { type?: string }).type === 'ready') resolve();
    });
    void node.exited.then(() =>
      reject(new Error(`serve ${node.host} exited before it was ready: ${stderr}`)),
    );
  });
}

/**
 * Runs the CLI as a process that keeps running (e.g. following a job): `started` resolves at its
 * first line on stdout, `done` with the whole run once it exits.
 */
export function spawnCli(args: string[], home: string): { started: Promise<void>; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [CLI, '--home', home, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let onFirst: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    onFirst = resolve;
  });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (stdout.includes('\n')) onFirst();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<CliRun>((resolve) => {
    child.once('close', (code, signal) => {
      onFirst();
      const lines = () =>
        stdout
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, signal, stdout, stderr, lines });
    });
  });
  return { started, done };
}

/** A file of `size` random bytes. */
export async function randomFile(path: string, size: number): Promise<Buffer> {
  const bytes = testBytes(size);
  await writeFile(path, bytes);
  return bytes;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The file holding a chunk in a node's default store. */
export function chunkFile(home: string, uuid: string): string {
  return chunkPath(join(home, 'stores', 'default'), uuid);
}

/** Whether a node's default store holds the chunk. */
export async function holds(home: string, uuid: string): Promise<boolean> {
  return stat(chunkFile(home, uuid)).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

export interface Placement {
  i: number;
  uuid: string;
  holders: string[];
}
