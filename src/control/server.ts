/**
 * The control socket: the local admin channel between the CLI and the daemon (keys, trust, jobs).
 * HTTP/1.1 over a Unix socket in a 0700 folder, socket mode 0600: only this user can reach it. It is
 * never exposed on the network. One daemon per home: a live socket means another daemon runs; a
 * stale one (nobody answers) is replaced.
 */
import { chmod, mkdir, unlink } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { ArozError, fromSystemError } from '../errors.ts';
import { encodeError, knownError } from '../errors-wire.ts';
import { isDaemonListening } from './client.ts';
import { controlSocketPath } from './paths.ts';

/** node:http's createServer without its ES module namespace (see `request` in client.ts). */
const { createServer } = process.getBuiltinModule('node:http');

/**
 * The largest control request: a batch job's list of files (src/ops/jobs.ts MAX_BATCH_FILES entries of
 * a path and a name) is the largest thing a surface sends. The socket is this user's only.
 */
export const MAX_CONTROL_BODY = 32 * 1024 * 1024;

export interface ControlRequest {
  body: unknown;
  /** Path parameters after the route prefix, e.g. the UUID in DELETE /v1/peers/<uuid>. */
  param: string | undefined;
  signal: AbortSignal;
  /** For streaming answers (job progress): write one JSON line. */
  send(line: unknown): void;
}

/** A route answers a JSON value, or streams lines with `send` and returns undefined. */
export type ControlRoute = (request: ControlRequest) => Promise<unknown>;

/** Routes keyed `"METHOD /path"`; a key ending in `/*` takes one path parameter. */
export type ControlRoutes = Record<string, ControlRoute>;

export class ControlServer {
  readonly path: string;
  #server: Server;
  #routes: ControlRoutes;
  #state: 'new' | 'listening' | 'closed' = 'new';

  constructor(home: string, routes: ControlRoutes) {
    this.path = controlSocketPath(home);
    this.#routes = routes;
    this.#server = createServer({ requestTimeout: 0, headersTimeout: 10_000 }, (req, res) => {
      void this.#handle(req, res);
    });
  }

  /** Replaces the routes (the daemon builds them once its parts exist). */
  setRoutes(routes: ControlRoutes): void {
    this.#routes = routes;
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fromSystemError(err, `Cannot create "${dirname(this.path)}"`);
    }
    if (await isDaemonListening(this.path)) {
      throw new ArozError(
        'ERR_DAEMON_RUNNING',
        `A daemon is already running for this home (socket "${this.path}")`,
      );
    }
    await unlink(this.path).catch(() => {}); // stale socket of a daemon that died
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.path, () => {
        this.#server.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      throw (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? new ArozError(
            'ERR_DAEMON_RUNNING',
            `A daemon is already running for this home (socket "${this.path}")`,
          )
        : fromSystemError(err, `Cannot listen on "${this.path}"`);
    });
    await chmod(this.path, 0o600);
    this.#state = 'listening';
  }

  async close(): Promise<void> {
    if (this.#state !== 'listening') {
      this.#state = 'closed';
      return;
    }
    this.#state = 'closed';
    this.#server.closeIdleConnections();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
    await unlink(this.path).catch(() => {});
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = new AbortController();
    res.once('close', () => controller.abort(new ArozError('ERR_INTERRUPTED', 'The CLI went away')));
    try {
      const [route, param] = this.#route(req.method ?? '', req.url ?? '');
      const body = await readJson(req);
      let streaming = false;
      const send = (line: unknown) => {
        if (!streaming) {
          streaming = true;
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        }
        res.write(`${JSON.stringify(line)}\n`);
      };
      const result = await route({ body, param, signal: controller.signal, send });
      if (streaming) res.end();
      else answer(res, 200, result ?? {});
    } catch (err) {
      const { status, body } = encodeError(knownError(err, 'Internal error in the daemon'));
      if (res.headersSent) res.end(`${JSON.stringify({ type: 'error', ...(body as object) })}\n`);
      else answer(res, status, body);
    }
  }

  #route(method: string, url: string): [ControlRoute, string | undefined] {
    const exact = this.#routes[`${method} ${url}`];
    if (exact !== undefined) return [exact, undefined];
    const slash = url.lastIndexOf('/');
    const wildcard = this.#routes[`${method} ${url.slice(0, slash)}/*`];
    if (wildcard !== undefined && slash > 0) return [wildcard, decodeURIComponent(url.slice(slash + 1))];
    throw new ArozError(
      'ERR_ROUTE_NOT_FOUND',
      `The daemon has no "${method} ${url}"; is it an older version?`,
    );
  }
}

function answer(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const piece of req as AsyncIterable<Buffer>) {
    total += piece.length;
    if (total > MAX_CONTROL_BODY)
      throw new ArozError('ERR_BAD_REQUEST', `A control request is over ${MAX_CONTROL_BODY} bytes`);
    parts.push(piece);
  }
  if (total === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    throw new ArozError('ERR_BAD_REQUEST', 'A control request is not valid JSON');
  }
}
