/**
 * Errors and JSON across the wire, mapped in one place: an ArozError becomes its HTTP status and a
 * `{code, message}` body; a response with such a body becomes the same ArozError on the other side.
 * Unknown codes from a peer never become codes here (they map to ERR_IO).
 */
import type { ServerHttp2Stream } from 'node:http2';
import { ArozError, ERROR_CODES, type ErrorCode, isProgrammingError } from '../errors.ts';

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** Answers `err` on a stream that has not sent its headers yet; otherwise resets the stream. */
export function sendError(stream: ServerHttp2Stream, err: unknown): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(0x2); // INTERNAL_ERROR: the body is incomplete, the peer must not trust it
    return;
  }
  const known = err instanceof ArozError ? err : undefined;
  const code: ErrorCode = known?.code ?? 'ERR_INTERNAL';
  const message = known?.message ?? 'Internal error';
  sendJson(stream, ERROR_CODES[code], { code, message });
}

export function sendJson(stream: ServerHttp2Stream, status: number, body: unknown): void {
  if (stream.destroyed || stream.closed) return;
  const text = JSON.stringify(body);
  stream.respond({
    ':status': status,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  stream.end(text);
}

/** Turns an error response from node `peer` into an ArozError with the peer's code. */
export function errorFromWire(status: number, bodyText: string, peer: string): ArozError {
  let code: unknown;
  let message: unknown;
  try {
    ({ code, message } = JSON.parse(bodyText) as { code?: unknown; message?: unknown });
  } catch (err) {
    if (isProgrammingError(err) && !(err instanceof SyntaxError)) throw err;
  }
  const text =
    typeof message === 'string' ? message.slice(0, 500).replace(/[\r\n]+/g, ' ') : `HTTP ${status}`;
  if (isErrorCode(code)) return new ArozError(code, `Node "${peer}" answered: ${text}`);
  return new ArozError('ERR_IO', `Node "${peer}" answered HTTP ${status}: ${text}`);
}
