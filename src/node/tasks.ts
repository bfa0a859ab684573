/**
 * Node-to-node tasks, the working side (docs/protocol.md "Tasks"): `POST /v1/tasks/verify` hashes
 * this node's own copy of a chunk; `POST /v1/tasks/copy` fetches a chunk from one of the holders the
 * asker lists, straight into this node's stores, checked against the SHA-256 it names before it is
 * kept. Tasks are bounded: at most `concurrency` run at once, `queue` more wait, copies share one
 * bandwidth cap; a full queue is ERR_BUSY and a copy that does not fit ERR_NO_SPACE, both answered
 * before any work. The asker's abort (its stream closing) cancels the task, queued or running, and
 * every task ends by `timeoutMs`. Only pinned peers reach this (the cluster port's pin check).
 */
import { constants as h2 } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArozError, isArozError, isProgrammingError } from '../errors.ts';
import { Pacer } from '../pace.ts';
import { checkChunkUuid, isSha256Hex, PIECE_SIZE } from '../store/checks.ts';
import type { ChunkStore, StoreStatus } from '../store/types.ts';
import { verifyCopy } from '../store/verify-copy.ts';
import type { Connect } from '../transfer/types.ts';
import type { PeerRequest } from '../transport/server.ts';
import {
  COPY_PATH,
  type CopyAnswer,
  type CopyTask,
  VERIFY_PATH,
  type VerifyAnswer,
} from '../transport/tasks.ts';
import { sendJson } from '../transport/wire.ts';
import { isUuid } from '../uuid.ts';
import { closeSignal } from './api-put.ts';

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

const MAX_TASK_BODY = 4096;
const MAX_HOLDERS = 16;
const BODY_IDLE_MS = 30_000;

export interface TaskRunnerOptions {
  nodeUuid: string;
  /** This node's stores (a StoreSet). */
  stores: ChunkStore & { status(options?: { signal?: AbortSignal }): Promise<StoreStatus> };
  /** Reaches a holder's chunks (the peer pool through a RemoteStore). */
  connect: Connect;
  limits?: Partial<TaskLimits>;
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
  readonly counts = { verify: 0, copy: 0, refused: 0, failed: 0, copiedBytes: 0 };

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
    if (path !== VERIFY_PATH && path !== COPY_PATH) return false;
    if (request.headers[':method'] !== 'POST') {
      throw new ArozError(
        'ERR_ROUTE_NOT_FOUND',
        `No endpoint "${String(request.headers[':method']).slice(0, 10)} ${path}"`,
      );
    }
    const { stream } = request;
    const closed = closeSignal(stream);
    const signal = AbortSignal.any([closed, AbortSignal.timeout(this.limits.timeoutMs)]);
    const body = await readTaskBody(request);
    try {
      const answer =
        path === VERIFY_PATH
          ? await this.#verify(parseVerify(body), signal)
          : await this.#copy(parseCopy(body), signal);
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

/** Reads the small JSON body; one that makes no progress for BODY_IDLE_MS is cut. */
async function readTaskBody(request: PeerRequest): Promise<Record<string, unknown>> {
  const bad = (what: string) => new ArozError('ERR_BAD_REQUEST', `A task request ${what}`);
  const { stream } = request;
  stream.setTimeout(BODY_IDLE_MS, () => stream.close(h2.NGHTTP2_CANCEL));
  const parts: Buffer[] = [];
  let total = 0;
  for await (const piece of stream as AsyncIterable<Buffer>) {
    total += piece.length;
    if (total > MAX_TASK_BODY) throw bad(`body is over ${MAX_TASK_BODY} bytes`);
    parts.push(piece);
  }
  stream.setTimeout(0); // the node works now: the asker waits for the answer
  const text = Buffer.concat(parts).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad('body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad('body is not a JSON object');
  return value as Record<string, unknown>;
}

function parseVerify(body: Record<string, unknown>): { chunk: string; sha256?: string; size?: number } {
  const chunk = checkChunkUuid(body['chunk']);
  const { sha256, size } = body;
  if (sha256 !== undefined && !isSha256Hex(sha256))
    throw new ArozError('ERR_BAD_REQUEST', 'A verify task\'s "sha256" is not a lower-case hex SHA-256');
  if (size !== undefined && !isSize(size))
    throw new ArozError('ERR_INVALID_SIZE', 'A verify task\'s "size" is not a chunk size');
  return { chunk, ...(sha256 !== undefined ? { sha256 } : {}), ...(size !== undefined ? { size } : {}) };
}

function parseCopy(body: Record<string, unknown>): CopyTask {
  const chunk = checkChunkUuid(body['chunk']);
  const { sha256, size, from } = body;
  if (!isSha256Hex(sha256))
    throw new ArozError('ERR_BAD_REQUEST', 'A copy task\'s "sha256" is not a lower-case hex SHA-256');
  if (!isSize(size)) throw new ArozError('ERR_INVALID_SIZE', 'A copy task\'s "size" is not a chunk size');
  if (
    !Array.isArray(from) ||
    from.length === 0 ||
    from.length > MAX_HOLDERS ||
    !from.every((n) => isUuid(n))
  ) {
    throw new ArozError('ERR_BAD_REQUEST', `A copy task's "from" must list 1 to ${MAX_HOLDERS} node UUIDs`);
  }
  return { chunk, sha256, size, from: [...new Set(from as string[])] };
}

const isSize = (v: unknown): v is number =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < 4 * 1024 ** 3;
