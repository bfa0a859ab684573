/**
 * The cluster port: HTTP/2 over mutual TLS 1.3 with SPKI pinning (docs/protocol.md "The pin check").
 * The pin check runs synchronously in a *prepended* `secureConnection` listener, so an untrusted client
 * is destroyed before the HTTP/2 layer reads a single frame; every stream handler is then given the
 * session's verified node UUID. A verified connection that offered no ALPN goes to the bulk handler
 * (bulk reads, docs/protocol.md) when one is set, and is closed otherwise. No session resumption,
 * bounded handshakes (in number, per source and in time: handshakes.ts), streams, headers, windows,
 * bulk connections and idle time.
 */
import { constants as cryptoConstants } from 'node:crypto';
import {
  createSecureServer,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { debuglog } from 'node:util';
import { ArozError } from '../errors.ts';
import { HandshakeGate } from './handshakes.ts';
import { LIMITS } from './limits.ts';
import { listenOn } from './listen.ts';
import { checkPeer, type PinSource, verifiedPeerOf } from './peer-identity.ts';
import { sendError } from './wire.ts';

const debug = debuglog('arozdfs');

export interface Identity {
  nodeUuid: string;
  /** PEM of this node's self-signed certificate and its private key. */
  certPem: string;
  keyPem: string;
}

export interface PeerRequest {
  stream: ServerHttp2Stream;
  headers: IncomingHttpHeaders;
  /** The verified node UUID of the caller. */
  peer: string;
}

/** Handles one request; a thrown error is answered as `{code, message}` with its status. */
export type RequestHandler = (request: PeerRequest) => Promise<void>;

export interface NodeServerOptions {
  identity: Identity;
  pins: PinSource;
  handler: RequestHandler;
  host: string;
  port: number;
  /** A client refused by the pin check (synchronous, just before its socket is closed): for pairing hints. */
  onRefused?: (socket: TLSSocket) => void;
  /**
   * Serves a verified connection that offered no ALPN: bulk reads (docs/protocol.md). It must settle
   * once the socket closes, and stop taking requests once `closing` aborts. Without it such
   * connections are closed.
   */
  bulk?: BulkHandler;
}

export type BulkHandler = (socket: TLSSocket, peer: string, closing: AbortSignal) => Promise<void>;

/** Bulk connections one peer may hold open at once; more are closed at once. */
export const MAX_BULK_PER_PEER = 16;

function tlsContext(identity: Identity) {
  return {
    cert: identity.certPem,
    key: identity.keyPem,
    minVersion: 'TLSv1.3' as const,
    maxVersion: 'TLSv1.3' as const,
    secureOptions: cryptoConstants.SSL_OP_NO_TICKET, // no resumption: every connection is checked afresh
  };
}

/** How many refusal reasons `NodeServer.refusals` keeps. */
export const MAX_REFUSALS_KEPT = 64;

type State = 'new' | 'listening' | 'closing' | 'closed';

export class NodeServer {
  #options: NodeServerOptions;
  #server: Http2SecureServer;
  #state: State = 'new';
  #handshakes = new HandshakeGate({
    total: LIMITS.maxHandshakesInFlight,
    perSource: LIMITS.maxHandshakesPerSource,
    timeoutMs: LIMITS.handshakeTimeoutMs,
  });
  #sessions = new Map<string, Set<ServerHttp2Session>>();
  #allSessions = new Set<ServerHttp2Session>();
  #inFlight = new Set<Promise<void>>();
  #bulk = new Map<string, Set<TLSSocket>>();
  #closing = new AbortController();
  /** The reasons of the latest refusals (at most `MAX_REFUSALS_KEPT`), oldest first; for tests and diagnostics. */
  readonly refusals: string[] = [];

  constructor(options: NodeServerOptions) {
    this.#options = options;
    this.#server = createSecureServer({
      ...tlsContext(options.identity),
      requestCert: true,
      rejectUnauthorized: false, // the trust store holds keys, not certificates: pins are checked below
      ALPNProtocols: ['h2'],
      allowHTTP1: false,
      // The handshake gate's absolute deadline closes a slow handshake; Node's own timer (which a
      // trickling client keeps restarting) is only a backstop behind it, so the gate is what decides.
      handshakeTimeout: 2 * LIMITS.handshakeTimeoutMs,
      unknownProtocolTimeout: LIMITS.unknownProtocolTimeoutMs,
      maxSessionMemory: LIMITS.maxSessionMemoryMB,
      maxHeaderListPairs: LIMITS.maxHeaderListPairs,
      settings: {
        initialWindowSize: LIMITS.streamWindow,
        maxConcurrentStreams: LIMITS.maxConcurrentStreams,
        maxHeaderListSize: LIMITS.maxHeaderListSize,
      },
    });
    this.#server.on('connection', (socket: Socket) => this.#onConnection(socket));
    // Prepended: runs before the HTTP/2 layer attaches to the socket.
    this.#server.prependListener('secureConnection', (socket: TLSSocket) => this.#onSecureConnection(socket));
    this.#server.on('session', (session) => this.#onSession(session));
    this.#server.on('stream', (stream, headers) => this.#onStream(stream, headers));
    // A verified client that offered no ALPN (any other is closed in the pin check).
    this.#server.on('unknownProtocol', (socket: TLSSocket) => this.#onBulk(socket));
    this.#server.on('tlsClientError', (err) => debug('cluster port: TLS client error: %s', err.message));
  }

  /** Listens; resolves with the bound address. Idempotent. */
  async start(): Promise<AddressInfo> {
    if (this.#state === 'new') {
      this.#state = 'listening';
      await listenOn(
        this.#server,
        this.#options.port,
        this.#options.host,
        'The cluster port',
        'choose another with --listen HOST:PORT',
      ).catch((err: unknown) => {
        this.#state = 'new';
        throw err;
      });
    }
    return this.address();
  }

  address(): AddressInfo {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') {
      throw new ArozError('ERR_IO', 'The cluster port is not listening');
    }
    return address;
  }

  /** TLS handshakes in progress now, and how many were dropped (for tests and diagnostics). */
  get handshakes(): { inProgress: number; evicted: number; timedOut: number } {
    return this.#handshakes.stats;
  }

  /** Bulk connections open now (for tests and diagnostics). */
  get bulkConnections(): number {
    let n = 0;
    for (const sockets of this.#bulk.values()) n += sockets.size;
    return n;
  }

  /** Serves bulk reads from now on (see `NodeServerOptions.bulk`). */
  setBulk(handler: BulkHandler): void {
    this.#options = { ...this.#options, bulk: handler };
  }

  /** Presents a new certificate from now on (the key was switched) and closes every live session. */
  setIdentity(identity: Identity): void {
    this.#server.setSecureContext(tlsContext(identity));
    for (const session of this.#allSessions) session.destroy();
    for (const sockets of this.#bulk.values()) for (const socket of sockets) socket.destroy();
  }

  /** Closes every live session of `uuid` at once (its key was revoked or replaced). */
  dropPeer(uuid: string): void {
    for (const session of this.#sessions.get(uuid) ?? []) session.destroy();
    this.#sessions.delete(uuid);
    for (const socket of this.#bulk.get(uuid) ?? []) socket.destroy();
  }

  /** Stops accepting, lets in-flight requests finish, then closes every session. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'new') {
      this.#state = 'closed';
      return;
    }
    if (this.#state === 'listening') {
      this.#state = 'closing';
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#handshakes.clear();
      for (const session of this.#allSessions) session.close();
      this.#closing.abort();
      await Promise.allSettled([...this.#inFlight]);
      // Every bulk answer is over; a connection whose client has not closed it yet is closed here.
      for (const sockets of this.#bulk.values()) for (const socket of sockets) socket.destroy();
      await closed;
      this.#state = 'closed';
    }
  }

  /** Aborts every session and stream now. */
  destroy(): void {
    for (const session of this.#allSessions) session.destroy();
    for (const sockets of this.#bulk.values()) for (const socket of sockets) socket.destroy();
    this.#closing.abort();
    this.#server.close();
    this.#handshakes.clear();
    this.#state = 'closed';
  }

  /** A TCP connection was accepted (the raw socket, already wrapped by its TLS socket). */
  #onConnection(socket: Socket): void {
    if (this.#state !== 'listening') {
      socket.destroy();
      return;
    }
    this.#handshakes.admit(socket);
  }

  #onSecureConnection(socket: TLSSocket): void {
    this.#handshakes.completed(socket);
    const check = checkPeer(socket, this.#options.pins, undefined, {
      bulk: this.#options.bulk !== undefined,
    });
    if (!check.ok) {
      // Anyone can connect: keep only the latest reasons, so refused clients cannot grow memory.
      if (this.refusals.length >= MAX_REFUSALS_KEPT) this.refusals.shift();
      this.refusals.push(check.reason);
      debug('cluster port: refused %s: %s', socket.remoteAddress, check.reason);
      try {
        this.#options.onRefused?.(socket);
      } finally {
        socket.destroy();
      }
    }
  }

  #onSession(session: ServerHttp2Session): void {
    const peer = verifiedPeerOf(session.socket);
    if (peer === undefined) {
      session.destroy();
      return;
    }
    session.setLocalWindowSize(LIMITS.sessionWindow);
    session.setTimeout(LIMITS.sessionIdleMs, () => session.close());
    let set = this.#sessions.get(peer);
    if (set === undefined) {
      set = new Set();
      this.#sessions.set(peer, set);
    }
    set.add(session);
    this.#allSessions.add(session);
    session.once('close', () => {
      set.delete(session);
      this.#allSessions.delete(session);
    });
  }

  #onBulk(socket: TLSSocket): void {
    const peer = verifiedPeerOf(socket);
    const serve = this.#options.bulk;
    let sockets = peer === undefined ? undefined : this.#bulk.get(peer);
    if (
      peer === undefined ||
      serve === undefined ||
      this.#state !== 'listening' ||
      socket.destroyed ||
      (sockets?.size ?? 0) >= MAX_BULK_PER_PEER
    ) {
      socket.destroy();
      return;
    }
    if (sockets === undefined) {
      sockets = new Set();
      this.#bulk.set(peer, sockets);
    }
    const set = sockets;
    set.add(socket);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0 && this.#bulk.get(peer) === set) this.#bulk.delete(peer);
    });
    const work = serve(socket, peer, this.#closing.signal).catch((err: unknown) => {
      debug('cluster port: bulk connection of %s failed: %o', peer, err);
      socket.destroy();
    });
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const peer = verifiedPeerOf(stream.session?.socket ?? {});
    // Before any refusal too: closing a stream with an error code emits 'error' on it.
    stream.on('error', (err) => debug('cluster port: stream error from %s: %s', peer, err.message));
    if (peer === undefined || this.#state !== 'listening') {
      stream.close(0x7); // REFUSED_STREAM
      return;
    }
    const work = this.#options.handler({ stream, headers, peer }).catch((err: unknown) => {
      if (!(err instanceof ArozError)) debug('cluster port: handler failed: %o', err);
      sendError(stream, err);
    });
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }
}
