/**
 * A throw-away cluster on this machine, for `arozdfs demo` and the cluster benchmark: node homes in
 * one temporary folder, paired with each other both ways (as people would with `peers add`), each
 * node a real `arozdfs serve` child process on its own loopback address (port 0, no discovery, no
 * web UI), started from its `ready` line. `destroy()` stops every node still running (SIGTERM, then
 * SIGKILL after a grace period) and removes the folder; it is idempotent and must run on success,
 * failure and interruption alike. It never touches anything outside its folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ArozError, type ErrorCode, fromSystemError } from '../errors.ts';
import { isErrorCode } from '../errors-wire.ts';
import { initHome } from '../home/init.ts';
import { pairHomes } from '../home/pair.ts';
import { selfCommand } from '../runtime.ts';

// In a checkout the nodes start through the launcher, which turns on Node's compile cache (a daemon
// then skips the type stripper: about 28 MiB less RSS, docs/architecture.md); emitted as JavaScript
// (the npm package), this file sits beside cli.js; in the executable the CLI is the executable itself
// (selfCommand).
const CLI = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../bin/arozdfs.js' : '../cli.js', import.meta.url),
);
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const STDERR_KEPT = 2_000;

export interface LocalNode {
  name: string;
  home: string;
  uuid: string;
  /** Loopback address the node listens on. */
  host: string;
  /** Bound port, once started. */
  port: number;
  child: ChildProcess | undefined;
  /** Resolves with the exit code (null after a signal) once the process is gone. */
  exited: Promise<number | null>;
}

export interface StartOptions {
  /** Nodes this one is told the address of (`--peer`). */
  peers?: LocalNode[];
  /** Extra Node.js options for the child (e.g. `--cpu-prof`). */
  execArgv?: string[];
  signal?: AbortSignal;
}

export class LocalCluster {
  readonly root: string;
  readonly nodes: LocalNode[];
  #destroyed = false;

  private constructor(root: string, nodes: LocalNode[]) {
    this.root = root;
    this.nodes = nodes;
  }

  /**
   * Makes a temp folder (in `parent`, default the system's) with one paired home per name; node i
   * will listen on 127.0.0.(2 + i).
   */
  static async create(
    names: string[],
    options: { signal?: AbortSignal; prefix?: string; parent?: string } = {},
  ): Promise<LocalCluster> {
    const parent = options.parent ?? tmpdir();
    let root: string;
    try {
      root = await mkdtemp(join(parent, options.prefix ?? 'arozdfs-local-'));
    } catch (err) {
      throw fromSystemError(err, `A temporary folder in "${parent}"`);
    }
    const cluster = new LocalCluster(root, []);
    try {
      for (const [i, name] of names.entries()) {
        const home = join(root, name);
        const made = await initHome(home, { name, ...(options.signal ? { signal: options.signal } : {}) });
        const node: LocalNode = {
          name,
          home,
          uuid: made.config.nodeUuid,
          host: `127.0.0.${2 + i}`,
          port: 0,
          child: undefined,
          exited: Promise.resolve(null),
        };
        cluster.nodes.push(node);
      }
      await pairHomes(cluster.nodes.map((n) => n.home));
      return cluster;
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
  }

  /** Starts `node` as a child process and waits for its `ready` line. */
  async start(node: LocalNode, options: StartOptions = {}): Promise<void> {
    if (this.#destroyed) throw new ArozError('ERR_INTERRUPTED', 'The local cluster was removed');
    const peers = (options.peers ?? []).flatMap((p) => ['--peer', `${p.uuid}@${p.host}:${p.port}`]);
    const args = ['--home', node.home, '--json', 'serve', '--listen', `${node.host}:0`, '--no-discovery'];
    const self = selfCommand(CLI, options.execArgv);
    const child = spawn(self.file, [...self.args, ...args, '--web', 'off', ...peers], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...self.env },
    });
    node.child = child;
    node.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_KEPT);
    });
    const lines = createInterface({ input: child.stdout! });
    const signal = AbortSignal.any([
      ...(options.signal ? [options.signal] : []),
      AbortSignal.timeout(READY_TIMEOUT_MS),
    ]);
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const fail = (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      };
      const onAbort = () =>
        fail(
          options.signal?.aborted
            ? options.signal.reason
            : new ArozError('ERR_TIMEOUT', `Node "${node.name}" was not ready after ${READY_TIMEOUT_MS} ms`),
        );
      signal.addEventListener('abort', onAbort, { once: true });
      lines.on('line', (line) => {
        let value: Record<string, unknown>;
        try {
          value = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        if (value['type'] === 'ready') {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        } else if (value['type'] === 'error') {
          const code: ErrorCode = isErrorCode(value['code']) ? value['code'] : 'ERR_INTERNAL';
          fail(new ArozError(code, `Node "${node.name}" did not start: ${String(value['message'])}`));
        }
      });
      void node.exited.then((code) => {
        const tail = stderr.trim().split('\n').at(-1) ?? '';
        fail(
          new ArozError(
            'ERR_IO',
            `Node "${node.name}" exited with ${code} before it was ready${tail ? `: ${tail}` : ''}`,
          ),
        );
      });
    });
    node.port = Number(String(ready['listen']).split(':').at(-1));
  }

  /** Kills `node` at once (SIGKILL: no chance to finish anything), as a power cut would. */
  async kill(node: LocalNode): Promise<void> {
    node.child?.kill('SIGKILL');
    await node.exited;
    node.child = undefined;
  }

  /** Stops `node` gracefully (SIGTERM); SIGKILL if it is still running after the grace period. */
  async stop(node: LocalNode, graceMs = STOP_GRACE_MS): Promise<number | null> {
    const child = node.child;
    if (child === undefined) return null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await node.exited;
    } finally {
      clearTimeout(timer);
      node.child = undefined;
    }
  }

  /** Stops every node still running and removes the folder. Idempotent. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    await Promise.all(this.nodes.map((n) => this.stop(n)));
    await rm(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}
