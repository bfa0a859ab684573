/**
 * Bulk reads on the cluster port (docs/protocol.md, "Bulk reads"): a verified peer that connected
 * without ALPN sends request lines, one at a time, and gets each chunk range as an answer line and
 * the raw bytes, read from the stores through the same pooled 1 MiB buffers as an HTTP/2 get. The
 * peer was checked against its pin before this runs (src/transport/server.ts). Every limit of the
 * HTTP/2 path holds: a request line is at most 128 bytes, an answer that makes no progress for
 * `idleMs` closes the connection, and a connection with no request for `waitMs` is closed.
 */
import type { TLSSocket } from 'node:tls';
import { ArozError } from '../errors.ts';
import type { ChunkStore } from '../store/types.ts';
import { answerLine, errorLine, MAX_REQUEST_LINE, parseRequestLine } from '../transport/bulk-wire.ts';
import { LIMITS } from '../transport/limits.ts';
import type { BulkHandler } from '../transport/server.ts';
import { sendPieces } from './api.ts';
import { closeSignal, PiecePool } from './api-put.ts';
import type { ChunkTraffic } from './traffic.ts';

/** Pieces of 1 MiB an answer keeps in flight (see `answer`). */
const BULK_DEPTH = 2;

export interface BulkApiOptions {
  store: ChunkStore;
  /** An answer that makes no progress for this long closes the connection. */
  idleMs: number;
  /** A connection with no request for this long is closed (default LIMITS.sessionIdleMs). */
  waitMs?: number;
  traffic?: ChunkTraffic;
}

export function bulkApi(options: BulkApiOptions): BulkHandler {
  const pool = new PiecePool();
  return (socket, peer, closing) => serve(socket, peer, closing, options, pool);
}

async function serve(
  socket: TLSSocket,
  peer: string,
  closing: AbortSignal,
  options: BulkApiOptions,
  pool: PiecePool,
): Promise<void> {
  const lines = new RequestLines(socket);
  const closed = closeSignal(socket);
  let busy = false;
  const onClosing = () => {
    if (!busy) socket.end();
  };
  closing.addEventListener('abort', onClosing, { once: true });
  socket.on('timeout', () => socket.destroy());
  try {
    while (!closing.aborted) {
      socket.setTimeout(options.waitMs ?? LIMITS.sessionIdleMs);
      const line = await lines.next();
      if (line === undefined || closing.aborted) return;
      socket.setTimeout(options.idleMs);
      busy = true;
      const ended = options.traffic?.begin();
      try {
        if (!(await answer(line))) return;
      } finally {
        ended?.();
        busy = false;
      }
    }
  } finally {
    closing.removeEventListener('abort', onClosing);
    socket.end();
  }

  /** Answers one request line; false when the connection must end (a line that is not a request). */
  async function answer(line: string): Promise<boolean> {
    let request: ReturnType<typeof parseRequestLine>;
    try {
      request = parseRequestLine(line);
    } catch (err) {
      socket.end(errorLine(err));
      return false;
    }
    const { uuid, start, end } = request;
    let reader: Awaited<ReturnType<ChunkStore['get']>>;
    try {
      reader = await options.store.get(uuid, {
        start: start ?? 0,
        ...(end !== undefined ? { end } : {}),
        signal: closed,
      });
    } catch (err) {
      if (closed.aborted) return false;
      socket.write(errorLine(err));
      return true;
    }
    await using _ = reader;
    socket.write(answerLine(reader.info, reader.start, reader.end));
    // Two in flight, not HTTP/2's four: a TLS socket encrypts a write at once and keeps the
    // ciphertext until the kernel takes it, with no flow-control window to hold it back.
    await sendPieces(reader, socket, closed, pool, (n) => options.traffic?.sent(peer, n, true), BULK_DEPTH);
    return true;
  }
}

/** Request lines from a socket: at most MAX_REQUEST_LINE bytes each, and at most two waiting. */
class RequestLines {
  #text = '';
  #ended = false;
  #wake: (() => void) | undefined;
  #socket: TLSSocket;

  constructor(socket: TLSSocket) {
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      this.#text += text;
      if (this.#text.length > 2 * MAX_REQUEST_LINE) {
        this.#text = '';
        socket.destroy(); // not a client of this protocol, or one that does not wait for answers
      }
      this.#wake?.();
    });
    const end = () => {
      this.#ended = true;
      this.#wake?.();
    };
    socket.on('end', end);
    socket.on('close', end);
  }

  /** The next line without its newline; undefined once the connection ended or broke the limits. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const at = this.#text.indexOf('\n');
      if (at !== -1 && at < MAX_REQUEST_LINE) {
        const line = this.#text.slice(0, at);
        this.#text = this.#text.slice(at + 1);
        return line;
      }
      if (at !== -1 || this.#text.length >= MAX_REQUEST_LINE) {
        this.#socket.end(
          errorLine(new ArozError('ERR_BAD_REQUEST', `A request line over ${MAX_REQUEST_LINE} bytes`)),
        );
        return undefined;
      }
      if (this.#ended || this.#socket.destroyed) return undefined;
      await new Promise<void>((resolve) => {
        this.#wake = () => {
          this.#wake = undefined;
          resolve();
        };
      });
    }
  }
}
