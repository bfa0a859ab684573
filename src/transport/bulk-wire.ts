/**
 * The bulk read protocol's two lines, in one place for both ends (docs/protocol.md, "Bulk reads"). A
 * bulk connection is a TLS 1.3 connection to the cluster port that offers no ALPN, checked against
 * the pins like any other; on it the client sends one request line at a time and the node answers
 * with one line, then (on success) exactly the bytes of the range:
 *
 *     GET <chunk uuid> <start> <end>\n       (end "-": to the end of the chunk)
 *     {"ok":true,"start":S,"end":E,"headers":{…the get answer's x-arozdfs-* headers…}}\n  + E − S bytes
 *     {"ok":false,"status":404,"code":"ERR_CHUNK_MISSING","message":"…"}\n
 *
 * Nothing here trusts the other end beyond the shape of its line: sizes are capped, fields checked.
 */
import { ArozError } from '../errors.ts';
import { encodeError, knownError } from '../errors-wire.ts';
import type { ChunkInfo } from '../store/types.ts';
import { byteCount, infoFromHeaders, infoHeaders } from './chunk-headers.ts';
import { errorFromWire } from './wire.ts';

/** Longest request line, newline included. */
export const MAX_REQUEST_LINE = 128;
/** Longest answer line, newline included. */
export const MAX_ANSWER_LINE = 4096;

export interface BulkRequest {
  uuid: string;
  start?: number;
  end?: number;
}

const REQUEST = /^GET ([0-9a-f-]{36}) (\d{1,10}) (\d{1,10}|-)$/;

export function requestLine(request: BulkRequest): string {
  return `GET ${request.uuid} ${request.start ?? 0} ${request.end ?? '-'}\n`;
}

/** Parses a request line (without its newline); ERR_BAD_REQUEST when it is not one. */
export function parseRequestLine(line: string): BulkRequest {
  const m = REQUEST.exec(line);
  if (m === null) {
    throw new ArozError('ERR_BAD_REQUEST', `Not a bulk request line: ${JSON.stringify(line.slice(0, 60))}`);
  }
  const [, uuid = '', start, end] = m;
  return { uuid, start: Number(start), ...(end === '-' ? {} : { end: Number(end) }) };
}

/** The answer line of a read about to send bytes `start`–`end` of the chunk `info` describes. */
export function answerLine(info: ChunkInfo, start: number, end: number): string {
  const headers = Object.fromEntries(Object.entries(infoHeaders(info)).map(([k, v]) => [k, String(v)]));
  return `${JSON.stringify({ ok: true, start, end, headers })}\n`;
}

/** The answer line of a request that failed with `err`. */
export function errorLine(err: unknown): string {
  const { status, body } = encodeError(knownError(err, 'Internal error'));
  return `${JSON.stringify({ ok: false, status, ...(body as object) })}\n`;
}

export interface BulkAnswer {
  info: ChunkInfo;
  start: number;
  end: number;
}

/**
 * Reads an answer line (without its newline) from node `peer` to a read of chunk `uuid`: the range
 * it will send, or the node's error as an ArozError (thrown). A line that is neither is
 * ERR_BAD_REQUEST.
 */
export function parseAnswerLine(line: string, uuid: string, peer: string): BulkAnswer {
  const bad = (what: string) =>
    new ArozError('ERR_BAD_REQUEST', `Node "${peer}" answered the bulk read of chunk "${uuid}" with ${what}`);
  let answer: unknown;
  try {
    answer = JSON.parse(line);
  } catch {
    throw bad('a line that is not JSON');
  }
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer))
    throw bad('a line that is not an object');
  const a = answer as Record<string, unknown>;
  if (a['ok'] === false) {
    const status = typeof a['status'] === 'number' && Number.isInteger(a['status']) ? a['status'] : 500;
    throw errorFromWire(status, JSON.stringify({ code: a['code'], message: a['message'] }), peer);
  }
  if (a['ok'] !== true) throw bad('a line that says neither ok nor not');
  const headers = a['headers'];
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) throw bad('no headers');
  const strings = Object.entries(headers).filter((e): e is [string, string] => typeof e[1] === 'string');
  if (strings.length !== Object.keys(headers).length) throw bad('headers that are not strings');
  const info = infoFromHeaders(Object.fromEntries(strings), uuid, peer);
  const start = byteCount(String(a['start']));
  const end = byteCount(String(a['end']));
  if (start === undefined || end === undefined || start > end || end > info.size)
    throw bad('a malformed range');
  return { info, start, end };
}
