/**
 * Dialling a peer: TCP + TLS 1.3 with this node's certificate, then the pin check against the UUID we
 * meant to reach — all before the HTTP/2 session exists, so a server holding the wrong key receives
 * zero request bytes (not even the HTTP/2 preface). Every dial and request has a timeout.
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as h2connect,
  type OutgoingHttpHeaders,
} from 'node:http2';
import type { OnReadOpts } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { ArozError, isProgrammingError } from '../errors.ts';
import { LIMITS } from './limits.ts';
import { checkPeer, type PinSource } from './peer-identity.ts';
import type { Identity } from './server.ts';
import { errorFromWire } from './wire.ts';

export interface DialOptions {
  /** The node UUID we mean to reach; the peer must prove it holds that node's pinned key. */
  uuid: string;
  host: string;
  port: number;
  /** Dial out from this address (a node bound to one IP dials out from it). */
  localAddress?: string;
  identity: Identity;
  pins: PinSource;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** The signal of a dial: the caller's, and the dial's own deadline. */
function dialSignal(options: Pick<DialOptions, 'signal' | 'timeoutMs'>): AbortSignal {
  return AbortSignal.any([
    ...(options.signal ? [options.signal] : []),
    AbortSignal.timeout(options.timeoutMs ?? LIMITS.connectTimeoutMs),
  ]);
}

/**
 * TCP + TLS 1.3 with this node's certificate, then the pin check against the UUID we meant to reach.
 * With `bulk`, a bulk-read connection (docs/protocol.md): no ALPN, and TLS decrypts into the buffers
 * `bulk.onread` gives.
 */
export async function dialTls(
  options: DialOptions,
  bulk?: { onread: OnReadOpts },
  signal: AbortSignal = dialSignal(options),
): Promise<TLSSocket> {
  signal.throwIfAborted();
  const where = `${options.host}:${options.port}`;
  return await new Promise<TLSSocket>((resolve, reject) => {
    // Node's types omit `onread` for TLS, which takes it like net.Socket.
    const tlsOptions: ConnectionOptions & { onread?: OnReadOpts } = {
      host: options.host,
      port: options.port,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      cert: options.identity.certPem,
      key: options.identity.keyPem,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ...(bulk === undefined ? { ALPNProtocols: ['h2'] } : { onread: bulk.onread }),
      rejectUnauthorized: false, // pins are checked below; Node skips checkServerIdentity for self-signed certs
    };
    const s = tlsConnect(tlsOptions);
    const onAbort = () => {
      s.destroy();
      reject(
        new ArozError('ERR_TIMEOUT', `Cannot reach node "${options.uuid}" at ${where}: no answer in time`, {
          cause: signal.reason,
        }),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    s.once('secureConnect', () => {
      signal.removeEventListener('abort', onAbort);
      const check = checkPeer(s, options.pins, options.uuid, { bulk: bulk !== undefined });
      if (!check.ok) {
        s.destroy();
        reject(new ArozError('ERR_PEER_UNTRUSTED', `Refused node at ${where}: ${check.reason}`));
        return;
      }
      resolve(s);
    });
    s.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(
        new ArozError(
          'ERR_PEER_UNREACHABLE',
          `Cannot reach node "${options.uuid}" at ${where}: ${err.message}`,
        ),
      );
    });
  });
}

/** Connects and verifies; resolves with an HTTP/2 session to the verified peer. */
export async function dialPeer(options: DialOptions): Promise<ClientHttp2Session> {
  const signal = dialSignal(options);
  const where = `${options.host}:${options.port}`;
  const socket = await dialTls(options, undefined, signal);
  const session = h2connect(`https://${where}`, {
    createConnection: () => socket,
    maxSessionMemory: LIMITS.maxSessionMemoryMB,
    maxHeaderListPairs: LIMITS.maxHeaderListPairs,
    settings: { initialWindowSize: LIMITS.clientStreamWindow, maxHeaderListSize: LIMITS.maxHeaderListSize },
  });
  session.on('error', () => {}); // surfaced on the streams that were in flight
  // In TLS 1.3 the client finishes its handshake before the server has judged the client's key: the
  // server's SETTINGS frame is its first word after accepting us. Wait for it (no request is sent).
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string) => {
      cleanup();
      session.destroy();
      reject(
        new ArozError('ERR_PEER_UNTRUSTED', `Node "${options.uuid}" at ${where} refused this node: ${why}`, {
          reason: 'refused-by-peer',
        }),
      );
    };
    const onSettings = () => {
      cleanup();
      resolve();
    };
    const onClose = () => fail('is this node paired on that side too?');
    const onAbort = () => fail('no answer in time');
    const cleanup = () => {
      session.off('remoteSettings', onSettings);
      session.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    session.once('remoteSettings', onSettings);
    session.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  session.setLocalWindowSize(LIMITS.sessionWindow);
  return session;
}

export interface PeerResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  stream: ClientHttp2Stream;
}

/**
 * Sends a request and waits for the response headers. The timeout covers the wait for headers; the
 * caller reads the body with its own no-progress timeout. A 4xx/5xx answer is returned, not thrown.
 */
export async function request(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  options: {
    signal?: AbortSignal;
    timeoutMs?: number;
    endStream?: boolean;
    waitForTrailers?: boolean;
    /** A small body sent at once (with `endStream: false`). */
    body?: string;
  } = {},
): Promise<PeerResponse> {
  const signal = AbortSignal.any([
    ...(options.signal ? [options.signal] : []),
    AbortSignal.timeout(options.timeoutMs ?? LIMITS.requestTimeoutMs),
  ]);
  signal.throwIfAborted();
  const stream = session.request(headers, {
    endStream: options.endStream ?? true,
    ...(options.waitForTrailers ? { waitForTrailers: true } : {}),
  });
  if (options.body !== undefined) stream.end(options.body);
  return await new Promise<PeerResponse>((resolve, reject) => {
    const onAbort = () => {
      stream.close(0x8); // CANCEL
      reject(
        new ArozError(
          'ERR_TIMEOUT',
          `No answer to ${String(headers[':method'])} ${String(headers[':path'])} in time`,
        ),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stream.once('response', (h) => {
      signal.removeEventListener('abort', onAbort);
      resolve({ status: Number(h[':status']), headers: h, stream });
    });
    stream.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(new ArozError('ERR_PEER_UNREACHABLE', `Request failed: ${err.message}`, { cause: err }));
    });
    stream.once('close', () => {
      signal.removeEventListener('abort', onAbort);
      reject(
        new ArozError('ERR_PEER_UNREACHABLE', `The peer closed the request ${String(headers[':path'])}`),
      );
    });
  });
}

/** Reads a whole (small) body, refusing more than `max` bytes. */
export async function readBody(stream: ClientHttp2Stream, max: number = LIMITS.maxJsonBody): Promise<string> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const piece of stream as AsyncIterable<Buffer>) {
    total += piece.length;
    if (total > max) {
      stream.close(0x8);
      throw new ArozError('ERR_BAD_REQUEST', `A peer's answer is over ${max} bytes`);
    }
    parts.push(piece);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** GET a JSON document; a non-2xx answer becomes the peer's ArozError. */
export async function getJson(
  session: ClientHttp2Session,
  path: string,
  peer: string,
  options: { signal?: AbortSignal } = {},
): Promise<unknown> {
  const res = await request(session, { ':method': 'GET', ':path': path }, options);
  const text = await readBody(res.stream);
  if (res.status < 200 || res.status > 299) throw errorFromWire(res.status, text, peer);
  try {
    return JSON.parse(text);
  } catch (err) {
    if (isProgrammingError(err) && !(err instanceof SyntaxError)) throw err;
    throw new ArozError('ERR_BAD_REQUEST', `Node "${peer}" answered ${path} with malformed JSON`);
  }
}
