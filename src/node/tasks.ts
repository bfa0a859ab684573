import { setTimeout as sleep } from 'node:timers/promises';
import { ArozError, isArozError, isProgrammingError } from '../errors.ts';
import { Pacer } from '../pace.ts';
import { PIECE_SIZE } from '../store/checks.ts';
import type { ChunkStore, StoreStatus } from '../store/types.ts';
import { verifyCopy } from '../store/verify-copy.ts';
import type { Connect } from '../transfer/types.ts';
import {
  MAX_REBUILD_BODY,
  REBUILD_PATH,
  type RebuildAnswer,
  type RebuildTask,
} from '../transport/rebuild-task.ts';
import type { PeerRequest } from '../transport/server.ts';
import {
  COPY_PATH,
  type CopyAnswer,
  type CopyTask,
  VERIFY_PATH,
  type VerifyAnswer,
} from '../transport/tasks.ts';
import { sendJson } from '../transport/wire.ts';
import { closeSignal } from './api-put.ts';
import { parseRebuild, rebuildShard } from './rebuild-task.ts';
import { parseCopy, parseVerify, readTaskBody } from './task-requests.ts';

export interface TaskLimits {
  /** Tasks running at once (verify and copy together). */
  concurrency: number;
  /** Tasks waiting for a turn; one more is refused with ERR_BUSY. */
  queue: number;
  /** All copies together fetch at most this many bytes per second. */
  copyBytesPerSecond: number;
  /** A task (waiting included) is cut after this long: ERR_TIMEOUT. */
  timeoutMs: number;
}

export const DEFAULT_TASK_LIMITS: TaskLimits = {
  concurrency: 2,
  queue: 32,
  copyBytesPerSecond: 64 * 1024 * 1024,
  timeoutMs: 10 * 60 * 1000,
};

export interface TaskRunnerOptions {
  nodeUuid: string;
  /** This node's stores (a StoreSet). */
  stores: ChunkStore & { status(options?: { signal?: AbortSignal }): Promise<StoreStatus> };
  /** Reaches a holder's chunks (the peer pool through a RemoteStore). */
  connect: Connect;
  limits?: Partial<TaskLimits>;
  /**
   * A copy task left this node holding `chunk` of file `file` (its sidecar's index id): the node
   * states its holdings in the catalog (docs/repair.md). Awaited before the answer; failures are
   * the callee's to log.
   */
  onHeld?: (chunk: string, file: string | undefined) => Promise<void>;
}

export class TaskRunner {
  readonly limits: TaskLimits;
  #options: TaskRunnerOptions;
  #running = 0;
  #waiting: Array<() => void> = [];
  /** Bytes of copies admitted but not yet writing (their space is promised). */
  #promised = 0;
  #pacer: Pacer;
  /** Tasks done since start, by kind and outcome (for tests and diagnostics). */
  readonly counts = { verify: 0, copy: 0, rebuild: 0, refused: 0, failed: 0, copiedBytes: 0 };

  constructor(options: TaskRunnerOptions) {
    this.#options = options;
    this.limits = { ...DEFAULT_TASK_LIMITS, ...options.limits };
    this.#pacer = new Pacer(
      this.limits.copyBytesPerSecond,
      Math.min(PIECE_SIZE, this.limits.copyBytesPerSecond),
    );
  }

  /** Tasks running or waiting now. */
  get active(): number {
    return this.#running + this.#waiting.length;
  }

  /** Handles `POST /v1/tasks/…`; answers false for any other request. */
  async handle(request: PeerRequest): Promise<boolean> {
    const path = request.headers[':path'];
    if (path !== VERIFY_PATH && path !== COPY_PATH && path !== REBUILD_PATH) return false;
    if (request.headers[':method'] !== 'POST') {
      throw new ArozError(
        'ERR_ROUTE_NOT_FOUND',
        `No endpoint "${String(request.headers[':method']).slice(0, 10)} ${path}"`,
      );
    }
    const { stream } = request;
    const closed = closeSignal(stream);
    const signal = AbortSignal.any([closed, AbortSignal.timeout(this.limits.timeoutMs)]);
    const body = await readTaskBody(request, path === REBUILD_PATH ? MAX_REBUILD_BODY : undefined);
    try {
      const answer =
        path === VERIFY_PATH
          ? await this.#verify(parseVerify(body), signal)
          : path === REBUILD_PATH
            ? await this.#rebuild(parseRebuild(body), signal)
            : await this.#copy(parseCopy(body), signal);
      if ('result' in answer && this.#options.onHeld !== undefined) {
        const held = await this.#options.stores.head(answer.chunk, { signal });
        await this.#options.onHeld(answer.chunk, held?.indexId);
      }
      sendJson(stream, 200, answer);
    } catch (err) {
      if (closed.aborted) throw err;
      if (signal.aborted && !isProgrammingError(err)) {
        throw new ArozError('ERR_TIMEOUT', `The task ${path} took longer than ${this.limits.timeoutMs} ms`);
      }
      throw err;
    }
    return true;
  }

  async #verify(
    task: { chunk: string; sha256?: string; size?: number },
    signal: AbortSignal,
  ): Promise<VerifyAnswer> {
    const release = await this.#turn(signal);
    try {
      const verdict = await verifyCopy(this.#options.stores, task.chunk, task, { signal });
      this.counts.verify++;
      return {
        chunk: task.chunk,
        state: verdict.state,
        recorded: verdict.recorded ?? null,
        actual: verdict.actual,
      };
    } finally {
      release();
    }
  }

  async #copy(task: CopyTask, signal: AbortSignal): Promise<CopyAnswer> {
    const { stores } = this.#options;
    const held = await stores.head(task.chunk, { signal });
    if (held !== undefined) return this.#held(task, held.sha256, held.size);
    const free = (await stores.status({ signal })).free - this.#promised;
    if (task.size > free) {
      this.counts.refused++;
      throw new ArozError(
        'ERR_NO_SPACE',
        `This node has ${Math.max(0, free)} bytes free for copies; chunk "${task.chunk}" needs ${task.size}`,
      );
    }
    this.#promised += task.size;
    let promised = true;
    const unpromise = () => {
      if (promised) this.#promised -= task.size;
      promised = false;
    };
    try {
      const release = await this.#turn(signal);
      try {
        const again = await stores.head(task.chunk, { signal });
        if (again !== undefined) return this.#held(task, again.sha256, again.size);
        return await this.#fetch(task, signal, unpromise);
      } finally {
        release();
      }
    } catch (err) {
      this.counts.failed++;
      throw err;
    } finally {
      unpromise();
    }
  }

  /** Makes a lost shard from K others (rebuild-task.ts), within the task limits and free space. */
  async #rebuild(task: RebuildTask, signal: AbortSignal): Promise<RebuildAnswer> {
    const { stores } = this.#options;
    const size = task.shard.size;
    const free = (await stores.status({ signal })).free - this.#promised;
    if (size > free) {
      this.counts.refused++;
      throw new ArozError(
        'ERR_NO_SPACE',
        `This node has ${Math.max(0, free)} bytes free; shard "${task.shard.uuid}" needs ${size}`,
      );
    }
    this.#promised += size;
    try {
      const release = await this.#turn(signal);
      try {
        const answer = await rebuildShard(
          this.#options.nodeUuid,
          stores,
          this.#options.connect,
          task,
          signal,
        );
        this.counts.rebuild++;
        return answer;
      } finally {
        release();
      }
    } catch (err) {
      this.counts.failed++;
      throw err;
    } finally {
      this.#promised -= size;
    }
  }

  #held(task: CopyTask, sha256: string, size: number): CopyAnswer {
    if (sha256 !== task.sha256 || size !== task.size) {
      throw new ArozError(
        'ERR_CHUNK_CONFLICT',
        `This node holds chunk "${task.chunk}" with SHA-256 "${sha256.slice(0, 12)}…", size ${size}`,
      );
    }
    this.counts.copy++;
    return { chunk: task.chunk, result: 'exists', source: null, bytes: 0 };
  }

  /** Tries each holder in turn; a holder whose bytes fail the check leaves nothing behind. */
  async #fetch(task: CopyTask, signal: AbortSignal, unpromise: () => void): Promise<CopyAnswer> {
    let failure: unknown;
    for (const holder of task.from) {
      if (holder === this.#options.nodeUuid) continue;
      try {
        const source = await this.#options.connect(holder, signal);
        await using reader = await source.get(task.chunk, { signal });
        if (reader.length !== task.size) {
          throw new ArozError(
            'ERR_CHUNK_SIZE',
            `Node "${holder}" holds chunk "${task.chunk}" with ${reader.length} bytes, not ${task.size}`,
          );
        }
        const { uploader, indexId, i } = reader.info;
        const meta = {
          uploader,
          ...(indexId !== undefined ? { indexId } : {}),
          ...(i !== undefined ? { i } : {}),
        };
        await using writer = await this.#options.stores.beginPut(task.chunk, {
          size: task.size,
          meta,
          signal,
        });
        unpromise(); // the store holds the reservation now
        for await (const piece of reader) {
          const wait = this.#pacer.take(piece.length, performance.now());
          if (wait > 0) await sleep(wait, undefined, { signal });
          await writer.write(piece);
        }
        const result = await writer.finish(task.sha256);
        this.counts.copy++;
        this.counts.copiedBytes += task.size;
        return { chunk: task.chunk, result, source: holder, bytes: task.size };
      } catch (err) {
        if (isProgrammingError(err) || signal.aborted) throw err;
        if (isArozError(err, 'ERR_NO_SPACE') || isArozError(err, 'ERR_STORE_OFFLINE')) throw err;
        failure ??= err;
        if (isArozError(err, 'ERR_CHUNK_HASH')) failure = err;
      }
    }
    if (failure instanceof ArozError) {
      throw new ArozError(failure.code, `No holder gave chunk "${task.chunk}": ${failure.message}`);
    }
    throw new ArozError(
      'ERR_DATA_UNREACHABLE',
      `No holder of chunk "${task.chunk}" was listed besides this node`,
    );
  }

  /** Waits for a free slot (ERR_BUSY when the queue is full); resolves with the release. */
  async #turn(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.#running >= this.limits.concurrency) {
      if (this.#waiting.length >= this.limits.queue) {
        this.counts.refused++;
        throw new ArozError(
          'ERR_BUSY',
          `This node runs ${this.#running} tasks and ${this.#waiting.length} wait: try again later`,
        );
      }
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          this.#waiting = this.#waiting.filter((w) => w !== go);
          reject(signal.reason);
        };
        this.#waiting.push(go);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    } else {
      this.#running++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next === undefined) this.#running--;
      else next(); // the slot passes on
    };
  }
}
