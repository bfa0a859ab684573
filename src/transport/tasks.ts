/**
 * Node-to-node tasks, the asking side (docs/protocol.md "Tasks"): a node asks a trusted peer to do
 * work where the data is. `askVerify` has the peer hash its own copy of a chunk (no chunk byte
 * crosses the network); `askCopy` has the peer fetch a chunk from one of the listed holders and keep
 * it (the bytes go holder → peer, never through the asking node). Each is one `POST /v1/tasks/…`
 * with a small JSON body, answered with one JSON document when the task is over. Aborting the signal
 * resets the stream, which cancels the task on the peer. A refusal (ERR_BUSY, ERR_NO_SPACE, …) comes
 * back as the peer's ArozError.
 */
import type { ClientHttp2Session } from 'node:http2';
import { ArozError, isProgrammingError } from '../errors.ts';
import { readBody, request } from './client.ts';
import { errorFromWire } from './wire.ts';

export const VERIFY_PATH = '/v1/tasks/verify';
export const COPY_PATH = '/v1/tasks/copy';
/** A task answer waits at most this long, plus the time its bytes take at TASK_MIN_RATE. */
export const TASK_BASE_MS = 60_000;
/** Bytes per second a task is assumed to manage at least (queue waits included). */
export const TASK_MIN_RATE = 4 * 1024 * 1024;

/** A peer to ask: its UUID and a pinned session to it (the peer pool's, say). */
export interface TaskPeer {
  uuid: string;
  session(signal: AbortSignal): Promise<ClientHttp2Session>;
}

export interface VerifyTask {
  chunk: string;
  /** The SHA-256 the asker expects; a copy whose bytes differ is `corrupt`. */
  sha256?: string;
  size?: number;
}

export interface VerifyAnswer {
  chunk: string;
  state: 'ok' | 'corrupt' | 'missing';
  /** What the peer's store recorded when it kept the copy. */
  recorded: { sha256: string; size: number } | null;
  /** The SHA-256 of the bytes the peer read, or null when it read none (or not all). */
  actual: string | null;
}

export interface CopyTask {
  chunk: string;
  sha256: string;
  size: number;
  /** Node UUIDs that hold the chunk, asked in this order. */
  from: string[];
}

export interface CopyAnswer {
  chunk: string;
  /** `exists`: the peer already held the chunk with this SHA-256 (nothing moved). */
  result: 'created' | 'exists';
  /** The holder the bytes came from (null for `exists`). */
  source: string | null;
  bytes: number;
}

export interface TaskOptions {
  signal?: AbortSignal;
  /** How long to wait for the answer (default TASK_BASE_MS + size at TASK_MIN_RATE). */
  timeoutMs?: number;
}

/** The default wait for the answer to a task over `size` bytes. */
export function taskTimeoutMs(size: number): number {
  return TASK_BASE_MS + Math.ceil((size / TASK_MIN_RATE) * 1000);
}

export async function askVerify(
  peer: TaskPeer,
  task: VerifyTask,
  options: TaskOptions = {},
): Promise<VerifyAnswer> {
  const value = await post(
    peer,
    VERIFY_PATH,
    task,
    options.timeoutMs ?? taskTimeoutMs(task.size ?? 0),
    options,
  );
  const bad = () =>
    new ArozError('ERR_BAD_REQUEST', `Node "${peer.uuid}" answered a verify task with a malformed answer`);
  const v = value as Partial<VerifyAnswer>;
  if (v.chunk !== task.chunk || !['ok', 'corrupt', 'missing'].includes(v.state as string)) throw bad();
  const recorded = v.recorded ?? null;
  if (recorded !== null && (!isSha256(recorded.sha256) || !isCount(recorded.size))) throw bad();
  const actual = v.actual ?? null;
  if (actual !== null && !isSha256(actual)) throw bad();
  return { chunk: task.chunk, state: v.state as VerifyAnswer['state'], recorded, actual };
}

export async function askCopy(
  peer: TaskPeer,
  task: CopyTask,
  options: TaskOptions = {},
): Promise<CopyAnswer> {
  const value = await post(peer, COPY_PATH, task, options.timeoutMs ?? taskTimeoutMs(task.size), options);
  const v = value as Partial<CopyAnswer>;
  if (
    v.chunk !== task.chunk ||
    (v.result !== 'created' && v.result !== 'exists') ||
    (v.source !== null && !task.from.includes(v.source as string)) ||
    !isCount(v.bytes)
  ) {
    throw new ArozError(
      'ERR_BAD_REQUEST',
      `Node "${peer.uuid}" answered a copy task with a malformed answer`,
    );
  }
  return { chunk: task.chunk, result: v.result, source: v.source ?? null, bytes: v.bytes };
}

const isSha256 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export async function post(
  peer: TaskPeer,
  path: string,
  body: unknown,
  timeoutMs: number,
  options: TaskOptions,
): Promise<unknown> {
  const signal = AbortSignal.any([
    ...(options.signal ? [options.signal] : []),
    AbortSignal.timeout(timeoutMs),
  ]);
  const session = await peer.session(signal);
  const text = JSON.stringify(body);
  const res = await request(
    session,
    {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    },
    { signal, timeoutMs, endStream: false, body: text },
  );
  // The answer is small and sent at once; a peer that stalls it still meets the deadline.
  const cut = () => res.stream.close(0x8);
  signal.addEventListener('abort', cut, { once: true });
  let answer: string;
  try {
    answer = await readBody(res.stream);
  } finally {
    signal.removeEventListener('abort', cut);
  }
  if (options.signal?.aborted) throw options.signal.reason;
  if (signal.aborted)
    throw new ArozError('ERR_TIMEOUT', `Node "${peer.uuid}" did not answer ${path} in time`);
  if (res.status < 200 || res.status > 299) throw errorFromWire(res.status, answer, peer.uuid);
  try {
    return JSON.parse(answer);
  } catch (err) {
    if (isProgrammingError(err) && !(err instanceof SyntaxError)) throw err;
    throw new ArozError('ERR_BAD_REQUEST', `Node "${peer.uuid}" answered ${path} with malformed JSON`);
  }
}
