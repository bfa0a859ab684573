/**
 * A small HTTP client for the web UI's API, as a browser would use it: one cookie jar, the CSRF
 * token, the Origin header. Raw node:http/https (a test must be able to send any Host or Origin).
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { Daemon } from '../../src/node/daemon.ts';

export const PASSWORD = 'correct horse battery staple';

export interface WebAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: tests read API answers field by field
  json: any;
}

export interface WebRequestOptions {
  body?: unknown;
  /** Raw body (a stream or bytes) instead of JSON. */
  raw?: Readable | Buffer;
  headers?: Record<string, string | undefined>;
  /** Leave out the session cookie / CSRF / Origin a browser would send. */
  noCookie?: boolean;
  noCsrf?: boolean;
  noOrigin?: boolean;
}

export class WebClient {
  readonly url: URL;
  cookie: string | undefined;
  csrf: string | undefined;

  constructor(url: string) {
    this.url = new URL(url);
  }

  static of(daemon: Daemon): WebClient {
    if (daemon.web === undefined) throw new Error('this daemon has no web UI');
    return new WebClient(daemon.web.url());
  }

  get origin(): string {
    return this.url.origin;
  }

  request(method: string, path: string, options: WebRequestOptions = {}): Promise<WebAnswer> {
    const headers: Record<string, string> = {};
    if (!options.noOrigin && method !== 'GET' && method !== 'HEAD') headers['origin'] = this.origin;
    if (!options.noCookie && this.cookie !== undefined) headers['cookie'] = this.cookie;
    if (!options.noCsrf && this.csrf !== undefined) headers['x-csrf-token'] = this.csrf;
    let payload: Buffer | Readable | undefined;
    if (options.raw !== undefined) payload = options.raw;
    else if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] = 'application/json';
    }
    if (Buffer.isBuffer(payload)) headers['content-length'] = String(payload.length);
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      if (v === undefined) delete headers[k];
      else headers[k] = v;
    }
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        {
          host: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port,
          method,
          path,
          headers,
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          const pieces: Buffer[] = [];
          res.on('data', (d: Buffer) => pieces.push(d));
          res.on('error', reject);
          res.on('end', () => {
            const body = Buffer.concat(pieces);
            let json: unknown;
            try {
              json = JSON.parse(body.toString('utf8'));
            } catch {
              json = undefined;
            }
            const set = res.headers['set-cookie']?.[0];
            if (set !== undefined) {
              const pair = set.split(';')[0] ?? '';
              this.cookie = pair.endsWith('=') ? undefined : pair;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
          });
        },
      );
      req.on('error', reject);
      if (payload === undefined) req.end();
      else if (Buffer.isBuffer(payload)) req.end(payload);
      else payload.pipe(req);
    });
  }

  get(path: string, options?: WebRequestOptions): Promise<WebAnswer> {
    return this.request('GET', path, options);
  }

  post(path: string, body: unknown = {}, options?: WebRequestOptions): Promise<WebAnswer> {
    return this.request('POST', path, { ...options, body });
  }

  /** Sets the admin password with the daemon's setup token; the client is logged in after. */
  async setup(daemon: Daemon, password = PASSWORD): Promise<WebAnswer> {
    const answer = await this.post('/api/setup', { token: daemon.web?.auth.setupToken, password });
    if (answer.status !== 200) throw new Error(`setup failed: ${answer.body.toString()}`);
    this.csrf = answer.json.csrf;
    return answer;
  }

  async login(password = PASSWORD): Promise<WebAnswer> {
    const answer = await this.post('/api/login', { password });
    if (answer.status === 200) this.csrf = answer.json.csrf;
    return answer;
  }
}
