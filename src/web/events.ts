/**
 * `GET /api/events`: Server-Sent Events for a logged-in browser (docs/web.md "Events"). Each stream
 * gets `job` events (a job record, progress at most four times a second per job), `cluster` events
 * (something the Cluster or Host setup page shows changed: read /api/cluster or /api/peers again) and
 * `hints` events (pairing hints changed). A session keeps at most `MAX_STREAMS_PER_SESSION` streams
 * (a new one closes its oldest) and `MAX_STREAMS` in all; a stream whose session ended (logout,
 * password change, expiry) is closed at its next keep-alive. The page polls only while no stream is open.
 */
import type { ServerResponse } from 'node:http';
import { ArozError } from '../errors.ts';
import type { NodeEvent, NodeOps } from '../ops/types.ts';
import type { Session, WebAuth } from './auth.ts';
import type { WebRequest } from './server.ts';

export const MAX_STREAMS_PER_SESSION = 4;
export const MAX_STREAMS = 64;
/** A comment line this often keeps proxies and the server's idle timer from closing the stream. */
const KEEPALIVE_MS = 20_000;
/** Events queued for a stream whose client does not read; more closes it (it reconnects and reloads). */
const MAX_BUFFERED = 1024 * 1024;

interface Stream {
  session: Session;
  res: ServerResponse;
  close(): void;
}

export class EventStreams {
  #ops: NodeOps;
  #auth: WebAuth;
  #streams = new Set<Stream>();

  constructor(ops: NodeOps, auth: WebAuth) {
    this.#ops = ops;
    this.#auth = auth;
  }

  get open(): number {
    return this.#streams.size;
  }

  /** Answers the request with an event stream; resolves when it closes. */
  async serve(request: WebRequest): Promise<undefined> {
    const session = request.session;
    if (session === undefined) throw new ArozError('ERR_WEB_LOGIN_REQUIRED', 'Log in first');
    const mine = [...this.#streams].filter((s) => s.session.id === session.id);
    if (mine.length >= MAX_STREAMS_PER_SESSION) mine[0]?.close();
    if (this.#streams.size >= MAX_STREAMS) {
      throw new ArozError('ERR_WEB_RATE_LIMITED', 'Too many event streams are open; the page polls instead', {
        retryAfter: 30,
      });
    }
    const { res } = request;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n\n');
    await new Promise<void>((resolve) => {
      const send = (event: NodeEvent) => {
        if (res.writableLength > MAX_BUFFERED) {
          stream.close();
          return;
        }
        const data = event.type === 'job' ? event.job : {};
        res.write(`event: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const keepalive = setInterval(() => {
        if (this.#auth.session(session.id) === undefined) stream.close();
        else res.write(': keep-alive\n\n');
      }, KEEPALIVE_MS);
      keepalive.unref();
      const unsubscribe = this.#ops.events(send);
      const stream: Stream = {
        session,
        res,
        close: () => {
          if (!this.#streams.delete(stream)) return;
          clearInterval(keepalive);
          unsubscribe();
          res.end();
          resolve();
        },
      };
      this.#streams.add(stream);
      res.on('close', () => stream.close());
      send({ type: 'cluster' }); // "connected": the page loads what it shows once, then waits for events
    });
    return undefined;
  }

  /** An event for one session's streams only (its own downloads). */
  notify(sessionId: string, type: string, data: unknown): void {
    for (const s of this.#streams) {
      if (s.session.id === sessionId) s.res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    }
  }

  /** Ends every stream of a session (logout) or all (shutdown). */
  closeAll(sessionId?: string): void {
    for (const s of [...this.#streams]) if (sessionId === undefined || s.session.id === sessionId) s.close();
  }
}
