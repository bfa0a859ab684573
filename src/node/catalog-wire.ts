/**
 * The catalog endpoints on the wire (docs/catalog.md, "Exchange"): the server's parsing of a
 * statements query, and the client's two requests — the summary (10 s deadline, at most 1 MiB) and
 * one batch of statements (30 s without progress, 120 s in all, at most 16 MiB + 64 KiB, no line over
 * 16 MiB, no more lines than its header says). What comes back is only bytes: the caller verifies
 * every statement before it keeps one.
 */
import type { ClientHttp2Session } from 'node:http2';
import { CATALOG_LIMITS } from '../catalog/index.ts';
import { ArozError } from '../errors.ts';
import { readBody, request } from '../transport/client.ts';
import { errorFromWire } from '../transport/wire.ts';
import { isUuid } from '../uuid.ts';

export const SUMMARY_PATH = '/v1/catalog/summary';
export const STATEMENTS_PATH = '/v1/catalog/statements';
/** `POST`, no body: "this node's catalog has new statements, pull when you can" (204). */
export const CHANGED_PATH = '/v1/catalog/changed';
export const CHANGED_TIMEOUT_MS = 5_000;
export const SUMMARY_TIMEOUT_MS = 10_000;
const SUMMARY_MAX_BYTES = 1024 * 1024;
const STATEMENTS_IDLE_MS = 30_000;
const STATEMENTS_DEADLINE_MS = 120_000;
/** A whole answer: every statement of a full batch plus its header and newlines. */
const ANSWER_MAX_BYTES = CATALOG_LIMITS.maxBatchBytes + 64 * 1024;

/** The query of a statements request: signer, after, limit, and nothing else (else 400). */
export function parseStatementsQuery(path: string): { signer: string; after: number; limit: number } {
  const query = new URLSearchParams(path.slice(STATEMENTS_PATH.length + 1));
  for (const key of query.keys()) {
    if (!['signer', 'after', 'limit'].includes(key) || query.getAll(key).length > 1)
      throw new ArozError('ERR_BAD_REQUEST', `Unexpected query parameter "${String(key).slice(0, 40)}"`);
  }
  const signer = query.get('signer') ?? '';
  if (!isUuid(signer))
    throw new ArozError(
      'ERR_INVALID_UUID',
      `"${query.get('signer')?.slice(0, 60) ?? ''}" is not a node UUID`,
    );
  const whole = (text: string | null, fallback: number, min: number, max: number, what: string) => {
    if (text === null) return fallback;
    const n = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new ArozError('ERR_BAD_REQUEST', `"${what}" must be a whole number from ${min} to ${max}`);
    return n;
  };
  return {
    signer,
    after: whole(query.get('after'), 0, 0, Number.MAX_SAFE_INTEGER, 'after'),
    limit: whole(query.get('limit'), CATALOG_LIMITS.maxBatchCount, 1, CATALOG_LIMITS.maxBatchCount, 'limit'),
  };
}

export async function fetchSummary(
  session: ClientHttp2Session,
  peer: string,
  signal: AbortSignal,
): Promise<Map<string, number>> {
  const timeout = AbortSignal.any([signal, AbortSignal.timeout(SUMMARY_TIMEOUT_MS)]);
  const res = await request(session, { ':method': 'GET', ':path': SUMMARY_PATH }, { signal: timeout });
  const onAbort = () => res.stream.close(0x8);
  timeout.addEventListener('abort', onAbort, { once: true });
  const text = await readBody(res.stream, SUMMARY_MAX_BYTES).finally(() =>
    timeout.removeEventListener('abort', onAbort),
  );
  timeout.throwIfAborted();
  if (res.status !== 200) throw errorFromWire(res.status, text, peer);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ArozError('ERR_CATALOG_INVALID', `Node "${peer}" answered a catalog summary that is not JSON`);
  }
  const signers = (body as { signers?: unknown } | null)?.signers;
  if (typeof signers !== 'object' || signers === null)
    throw new ArozError('ERR_CATALOG_INVALID', `Node "${peer}" answered a catalog summary without "signers"`);
  const out = new Map<string, number>();
  for (const [signer, seq] of Object.entries(signers)) {
    if (isUuid(signer) && Number.isSafeInteger(seq) && (seq as number) > 0) out.set(signer, seq as number);
  }
  return out;
}

export interface Answer {
  lines: Buffer[];
  last: number;
  more: boolean;
}

/**
 * One statements request: a 30 s no-progress timeout and a 120 s deadline; the answer is refused
 * over 16 MiB + 64 KiB, with a line over 16 MiB, or with more lines than its header's count.
 */
export async function fetchStatements(
  session: ClientHttp2Session,
  peer: string,
  signer: string,
  after: number,
  signal: AbortSignal,
): Promise<Answer> {
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(STATEMENTS_DEADLINE_MS)]);
  const path = `${STATEMENTS_PATH}?signer=${signer}&after=${after}&limit=${CATALOG_LIMITS.maxBatchCount}`;
  const res = await request(
    session,
    { ':method': 'GET', ':path': path },
    { signal: deadline, timeoutMs: STATEMENTS_IDLE_MS },
  );
  if (res.status !== 200) throw errorFromWire(res.status, await readBody(res.stream), peer);
  const { stream } = res;
  const tooLarge = (what: string) => {
    stream.close(0x8);
    return new ArozError('ERR_CATALOG_TOO_LARGE', `Node "${peer}" sent a catalog answer ${what}`);
  };
  const pieces: Buffer[] = [];
  let total = 0;
  let idle: NodeJS.Timeout | undefined;
  const onAbort = () => stream.close(0x8);
  deadline.addEventListener('abort', onAbort, { once: true });
  try {
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => stream.close(0x8), STATEMENTS_IDLE_MS);
    };
    arm();
    for await (const piece of stream as AsyncIterable<Buffer>) {
      arm();
      total += piece.length;
      if (total > ANSWER_MAX_BYTES) throw tooLarge(`over ${ANSWER_MAX_BYTES} bytes`);
      pieces.push(piece);
    }
    if (!stream.readableEnded || stream.rstCode !== 0)
      throw new ArozError('ERR_TIMEOUT', `Node "${peer}" did not finish its catalog answer in time`);
  } finally {
    clearTimeout(idle);
    deadline.removeEventListener('abort', onAbort);
  }
  deadline.throwIfAborted();
  const all = Buffer.concat(pieces);
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = all.indexOf(10); nl !== -1; nl = all.indexOf(10, start)) {
    if (nl - start > CATALOG_LIMITS.maxStatementBytes) throw tooLarge('with a line over 16 MiB');
    lines.push(all.subarray(start, nl));
    start = nl + 1;
  }
  if (start !== all.length)
    throw new ArozError('ERR_CATALOG_INVALID', `Node "${peer}" sent a cut catalog answer`);
  const headerLine = lines.shift();
  let header: { last?: unknown; more?: unknown; count?: unknown };
  try {
    header = JSON.parse(headerLine?.toString('utf8') ?? '') as typeof header;
  } catch {
    throw new ArozError('ERR_CATALOG_INVALID', `Node "${peer}" sent a catalog answer without its header`);
  }
  const { last, more, count } = header ?? {};
  if (!Number.isSafeInteger(last) || typeof more !== 'boolean' || !Number.isSafeInteger(count))
    throw new ArozError('ERR_CATALOG_INVALID', `Node "${peer}" sent a bad catalog answer header`);
  if (lines.length !== count || lines.length > CATALOG_LIMITS.maxBatchCount)
    throw tooLarge(`with ${lines.length} statements where its header said ${String(count)}`);
  return { lines, last: last as number, more };
}

/** Tells `peer` that this node issued new statements; it pulls them at once (docs/catalog.md). */
export async function sendChanged(
  session: ClientHttp2Session,
  peer: string,
  signal: AbortSignal,
): Promise<void> {
  const res = await request(
    session,
    { ':method': 'POST', ':path': CHANGED_PATH },
    { signal, timeoutMs: CHANGED_TIMEOUT_MS },
  );
  const body = await readBody(res.stream, 64 * 1024);
  if (res.status !== 204) throw errorFromWire(res.status, body, peer);
}
