/**
 * The requests of node-to-node tasks (docs/protocol.md "Tasks"): a small JSON body, read with a
 * no-progress timeout and a size cap, and checked field by field before any work.
 */
import { constants as h2 } from 'node:http2';
import { ArozError } from '../errors.ts';
import { checkChunkUuid, isSha256Hex } from '../store/checks.ts';
import type { PeerRequest } from '../transport/server.ts';
import type { CopyTask, VerifyTask } from '../transport/tasks.ts';
import { isUuid } from '../uuid.ts';

export const MAX_TASK_BODY = 4096;
export const MAX_HOLDERS = 16;
const BODY_IDLE_MS = 30_000;

/** Reads the small JSON body; one that makes no progress for BODY_IDLE_MS is cut. */
export async function readTaskBody(
  request: PeerRequest,
  max = MAX_TASK_BODY,
): Promise<Record<string, unknown>> {
  const bad = (what: string) => new ArozError('ERR_BAD_REQUEST', `A task request ${what}`);
  const { stream } = request;
  stream.setTimeout(BODY_IDLE_MS, () => stream.close(h2.NGHTTP2_CANCEL));
  const parts: Buffer[] = [];
  let total = 0;
  for await (const piece of stream as AsyncIterable<Buffer>) {
    total += piece.length;
    if (total > max) throw bad(`body is over ${max} bytes`);
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

export function parseVerify(body: Record<string, unknown>): VerifyTask {
  const chunk = checkChunkUuid(body['chunk']);
  const { sha256, size } = body;
  if (sha256 !== undefined && !isSha256Hex(sha256))
    throw new ArozError('ERR_BAD_REQUEST', 'A verify task\'s "sha256" is not a lower-case hex SHA-256');
  if (size !== undefined && !isSize(size))
    throw new ArozError('ERR_INVALID_SIZE', 'A verify task\'s "size" is not a chunk size');
  return { chunk, ...(sha256 !== undefined ? { sha256 } : {}), ...(size !== undefined ? { size } : {}) };
}

export function parseCopy(body: Record<string, unknown>): CopyTask {
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
