/**
 * Errors and JSON on the node API, through the one error codec (src/errors-wire.ts): an ArozError
 * becomes its HTTP status and a `{code, message}` body; a response with such a body becomes the same
 * ArozError on the other side. Unknown codes from a peer never become codes here (they map to ERR_IO).
 */
import type { ServerHttp2Stream } from 'node:http2';
import { ArozError } from '../errors.ts';
import { decodeError, encodeError, knownError, parseErrorText } from '../errors-wire.ts';

/** Answers `err` on a stream that has not sent its headers yet; otherwise resets the stream. */
export function sendError(stream: ServerHttp2Stream, err: unknown): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(0x2); // INTERNAL_ERROR: the body is incomplete, the peer must not trust it
    return;
  }
  const { status, body } = encodeError(knownError(err, 'Internal error'));
  sendJson(stream, status, body);
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
  const { code, message } = decodeError(parseErrorText(bodyText));
  // A peer's message is shown as one line of at most 500 characters.
  const text = message?.slice(0, 500).replace(/[\r\n]+/g, ' ') ?? `HTTP ${status}`;
  if (code !== undefined) return new ArozError(code, `Node "${peer}" answered: ${text}`);
  return new ArozError('ERR_IO', `Node "${peer}" answered HTTP ${status}: ${text}`);
}
