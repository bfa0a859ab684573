/**
 * The web UI's HTTP(S) server (docs/web.md): the page and its two assets, and a JSON API. Every
 * request passes the guard (Host, Origin, security headers) before anything else is read; API routes
 * need a logged-in session unless marked public, and a CSRF token on every change.
 */
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { ArozError, fromSystemError, isProgrammingError } from '../errors.ts';
import { encodeError } from '../errors-wire.ts';
import { readShippedFile } from '../runtime.ts';
import { sourceOf } from '../transport/handshakes.ts';
import { listenOn } from '../transport/listen.ts';
import { type Session, WebAuth } from './auth.ts';
import {
  type HostPolicy,
  hostAllowed,
  isSafeMethod,
  originAllowed,
  ownOrigin,
  SECURITY_HEADERS,
} from './guard.ts';
import { WEB_TLS_SETTINGS, type WebTls } from './tls.ts';

/**
 * node:http's createServer without its ES module namespace: building that namespace reads every
 * export, and its WebSocket getters load all of undici (docs/architecture.md, "Start-up of the CLI").
 */
const { createServer: createHttpServer } = process.getBuiltinModule('node:http');

const debug = debuglog('arozdfs');

export const MAX_JSON_BODY = 64 * 1024;
const IDLE_MS = 120_000;
const HEADERS_TIMEOUT_MS = 10_000;
const MAX_CONNECTIONS = 256;
/** Open connections from one client address (IPv6: one /64): one host cannot take every slot. */
export const MAX_CONNECTIONS_PER_SOURCE = 32;
/** A TLS handshake not done by then is closed. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How often a running HTTPS web UI asks whether its certificate was renewed (`renewTls`). */
const RENEW_CHECK_MS = 24 * 60 * 60 * 1000;
const ASSETS = join(import.meta.dirname, 'assets');

/** The page's ES modules (assets/*.js), each served at `/<name>.js`; app.js imports the others. */
export const MODULES = [
  'app',
  'api',
  'dom',
  'words',
  'live',
  'host',
  'keys',
  'cluster',
  'files',
  'folders',
  'upload',
  'jobs',
] as const;

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/content.css': { file: 'content.css', type: 'text/css; charset=utf-8' },
  ...Object.fromEntries(
    MODULES.map((m) => [`/${m}.js`, { file: `${m}.js`, type: 'text/javascript; charset=utf-8' }]),
  ),
};

export interface WebRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The `*` segments of the route, decoded. */
  params: string[];
  /** The client's address (for the login limit and the audit log). */
  client: string;
  session: Session | undefined;
  signal: AbortSignal;
  req: IncomingMessage;
  res: ServerResponse;
  /** The JSON body (at most 64 KiB, `Content-Type: application/json`); `{}` when empty. */
  json(): Promise<Record<string, unknown>>;
  /** Starts a session: sets the cookie. */
  login(session: Session): void;
  logout(): void;
}

/** A JSON value to send (200), a WebStatus for another status, or undefined when the route answered itself. */
export type WebAnswer = unknown;

export interface WebRoute {
  handler: (request: WebRequest) => Promise<WebAnswer>;
  /** Reachable without a session (session, setup, login). */
  public?: boolean;
}

/** Routes keyed `"METHOD /path"`; a `*` segment matches one path segment. */
export type WebRoutes = Record<string, WebRoute>;

export interface WebServerOptions {
  host: string;
  port: number;
  /** HTTPS with the web UI's own key and certificate (always for a non-loopback host; tls.ts). */
  tls?: WebTls | undefined;
  /**
   * With `tls`: asked once a day while the server runs for the key and certificate to serve (tls.ts
   * renews a certificate near its end); a new certificate serves every connection made after it.
   */
  renewTls?: () => Promise<WebTls>;
  /** The node's log: a renewed certificate's new fingerprint, or why the daily check failed. */
  log?: (line: string) => void;
  nodeUuid: string;
  auth: WebAuth;
  routes: WebRoutes;
  /** This machine's host name, allowed in Host headers on a non-loopback bind (default os.hostname()). */
  machine?: string;
}

/** An answer with another status than 200 (e.g. 202 for a job started). */
export class WebStatus {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    this.status = status;
    this.body = body;
  }
}

function matchRoute(routes: WebRoutes, method: string, path: string) {
  const parts = path.split('/');
  for (const [key, route] of Object.entries(routes)) {
    const space = key.indexOf(' ');
    if (key.slice(0, space) !== method) continue;
    const pattern = key.slice(space + 1).split('/');
    if (pattern.length !== parts.length) continue;
    const params: string[] = [];
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const want = pattern[i];
      const got = parts[i] ?? '';
      if (want === '*') {
        try {
          const value = decodeURIComponent(got);
          if (value === '') ok = false;
          params.push(value);
        } catch {
          ok = false;
        }
      } else if (want !== got) ok = false;
    }
    if (ok) return { route, params };
  }
  return undefined;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (length > MAX_JSON_BODY) {
    throw new ArozError('ERR_TOO_LARGE', `The request body (${length} bytes) is over ${MAX_JSON_BODY} bytes`);
  }
  const pieces: Buffer[] = [];
  let size = 0;
  for await (const piece of req) {
    size += (piece as Buffer).length;
    if (size > MAX_JSON_BODY) {
      throw new ArozError('ERR_TOO_LARGE', `The request body is over ${MAX_JSON_BODY} bytes`);
    }
    pieces.push(piece as Buffer);
  }
  if (size === 0) return {};
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim();
  if (type !== 'application/json') {
    throw new ArozError('ERR_BAD_REQUEST', 'The request body must be JSON (Content-Type: application/json)');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(pieces).toString('utf8'));
  } catch (err) {
    throw new ArozError('ERR_BAD_REQUEST', 'The request body is not valid JSON', { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ArozError('ERR_BAD_REQUEST', 'The request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

export class WebServer {
  readonly auth: WebAuth;
  readonly tls: boolean;
  readonly cookieName: string;
  #server: Server;
  #options: WebServerOptions;
  #assets = new Map<string, Buffer>();
  #policy: HostPolicy | undefined;
  #certFingerprint: string | undefined;
  #certPem: string | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #perSource = new Map<string, number>();

  constructor(options: WebServerOptions) {
    this.#options = options;
    this.auth = options.auth;
    this.tls = options.tls !== undefined;
    this.cookieName = `${this.tls ? '__Host-' : ''}arozdfs-${options.nodeUuid}`;
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    const common = { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: 0, keepAliveTimeout: 5_000 };
    this.#server =
      options.tls === undefined
        ? createHttpServer(common, handler)
        : createHttpsServer(
            {
              ...common,
              ...WEB_TLS_SETTINGS,
              handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
              cert: options.tls.certPem,
              key: options.tls.keyPem,
            },
            handler,
          );
    if (options.tls !== undefined) {
      this.#certPem = options.tls.certPem;
      this.#certFingerprint = new X509Certificate(options.tls.certPem).fingerprint256;
    }
    this.#server.maxConnections = MAX_CONNECTIONS;
    this.#server.on('connection', (socket: Socket) => this.#admit(socket));
    this.#server.setTimeout(IDLE_MS);
    this.#server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** Counts each open connection against its source; one over the per-source cap is closed at once. */
  #admit(socket: Socket): void {
    const source = sourceOf(socket.remoteAddress);
    const open = this.#perSource.get(source) ?? 0;
    if (open >= MAX_CONNECTIONS_PER_SOURCE) {
      debug('web: %s has %d connections open; closing another', source, open);
      socket.destroy();
      return;
    }
    this.#perSource.set(source, open + 1);
    socket.once('close', () => {
      const left = (this.#perSource.get(source) ?? 1) - 1;
      if (left > 0) this.#perSource.set(source, left);
      else this.#perSource.delete(source);
    });
  }

  /** SHA-256 fingerprint of the HTTPS certificate (what a browser shows), or undefined over HTTP. */
  get certificateFingerprint(): string | undefined {
    return this.#certFingerprint;
  }

  /**
   * Asks `renewTls` for the key and certificate and serves them from the next connection on when the
   * certificate changed (true then). A failure keeps the current ones (false); the next day asks again.
   */
  async refreshTls(): Promise<boolean> {
    const { renewTls } = this.#options;
    if (renewTls === undefined || this.#certPem === undefined) return false;
    try {
      const tls = await renewTls();
      if (tls.certPem === this.#certPem) return false;
      const fingerprint = new X509Certificate(tls.certPem).fingerprint256;
      (this.#server as HttpsServer).setSecureContext({
        ...WEB_TLS_SETTINGS,
        cert: tls.certPem,
        key: tls.keyPem,
      });
      this.#certPem = tls.certPem;
      this.#certFingerprint = fingerprint;
      this.#options.log?.(
        `web UI: its certificate neared its end and was renewed; the new SHA-256 (compare with what the browser shows): ${fingerprint}`,
      );
      return true;
    } catch (err) {
      if (isProgrammingError(err)) throw err;
      this.#options.log?.(
        `web UI: could not check its certificate for renewal (${err instanceof Error ? err.message : String(err)}); it keeps the current one and checks again tomorrow`,
      );
      return false;
    }
  }

  async start(): Promise<void> {
    for (const { file } of Object.values(STATIC)) {
      try {
        this.#assets.set(file, await readShippedFile(`web/${file}`, join(ASSETS, file)));
      } catch (err) {
        throw fromSystemError(err, `Cannot read the web UI file "${join(ASSETS, file)}"`);
      }
    }
    await listenOn(
      this.#server,
      this.#options.port,
      this.#options.host,
      'The web UI address',
      'choose another with --web HOST:PORT, or --web off',
    );
    this.#policy = {
      bound: this.#options.host,
      port: this.address().port,
      tls: this.tls,
      ...(this.#options.machine !== undefined ? { machine: this.#options.machine } : {}),
    };
    if (this.#options.renewTls !== undefined && this.tls) {
      this.#renewTimer = setInterval(() => void this.refreshTls(), RENEW_CHECK_MS);
      this.#renewTimer.unref();
    }
  }

  address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  /** The URL to open: the bound address, or 127.0.0.1 for a wildcard bind. */
  url(): string {
    const { address, port } = this.address();
    const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address;
    const shown = host.includes(':') ? `[${host}]` : host;
    return `${this.tls ? 'https' : 'http'}://${shown}:${port}/`;
  }

  async close(): Promise<void> {
    clearInterval(this.#renewTimer);
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(text);
  }

  #fail(res: ServerResponse, err: ArozError, close = false): void {
    const { status, body, headers } = encodeError(err, { wrap: true });
    if (close) headers['connection'] = 'close';
    this.#send(res, status, body, headers);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (this.tls) res.setHeader('strict-transport-security', 'max-age=31536000');
    const policy = this.#policy;
    const host = req.headers.host;
    if (policy === undefined || !hostAllowed(host, policy)) {
      this.#fail(
        res,
        new ArozError('ERR_WEB_FORBIDDEN', 'This address is not one this web UI answers to'),
        true,
      );
      return;
    }
    const own = ownOrigin(host as string, this.tls);
    if (!originAllowed(req.method, req.headers, own)) {
      this.#fail(res, new ArozError('ERR_WEB_FORBIDDEN', 'Requests from other sites are refused'), true);
      return;
    }
    const url = new URL(req.url ?? '/', own);
    const method = req.method ?? 'GET';
    const asset = STATIC[url.pathname === '/index.html' ? '/' : url.pathname];
    if (asset !== undefined && isSafeMethod(method)) {
      const body = this.#assets.get(asset.file) ?? Buffer.alloc(0);
      res.writeHead(200, {
        'content-type': asset.type,
        'content-length': body.length,
        'cache-control': 'no-cache',
      });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    try {
      const found = matchRoute(this.#options.routes, method === 'HEAD' ? 'GET' : method, url.pathname);
      if (found === undefined) {
        throw new ArozError('ERR_NOT_FOUND', `Nothing is at ${method} ${url.pathname}`);
      }
      const session = this.auth.session(cookieValue(req.headers.cookie, this.cookieName));
      if (found.route.public !== true) {
        if (session === undefined) throw new ArozError('ERR_WEB_LOGIN_REQUIRED', 'Log in first');
        if (!isSafeMethod(method) && !WebAuth.csrfMatches(session, headerOf(req, 'x-csrf-token'))) {
          throw new ArozError('ERR_WEB_FORBIDDEN', 'The CSRF token is missing or wrong: reload the page');
        }
      }
      const request: WebRequest = {
        method,
        path: url.pathname,
        query: url.searchParams,
        params: found.params,
        client: req.socket.remoteAddress ?? 'unknown',
        session,
        signal: controller.signal,
        req,
        res,
        json: () => readJson(req),
        login: (s) =>
          res.setHeader('set-cookie', this.#cookie(s.id, Math.floor((s.expires - Date.now()) / 1000))),
        logout: () => res.setHeader('set-cookie', this.#cookie('', 0)),
      };
      const answer = await found.route.handler(request);
      if (answer === undefined) return;
      if (answer instanceof WebStatus) this.#send(res, answer.status, answer.body);
      else this.#send(res, 200, answer);
    } catch (err) {
      if (err instanceof ArozError) {
        this.#fail(res, err, !req.complete);
        return;
      }
      debug('web: %s %s failed: %O', method, url.pathname, err);
      this.#fail(res, new ArozError('ERR_INTERNAL', 'Internal error in the daemon'), true);
    }
  }

  #cookie(value: string, maxAge: number): string {
    return [
      `${this.cookieName}=${value}`,
      'HttpOnly',
      'SameSite=Strict',
      'Path=/',
      `Max-Age=${maxAge}`,
      ...(this.tls ? ['Secure'] : []),
    ].join('; ');
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}
