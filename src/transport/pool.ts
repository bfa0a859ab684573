/**
 * Live sessions to peers, one per node UUID, dialled on demand from the addresses a resolver gives
 * and dropped at once when the peer's key is revoked. A session that closes is forgotten, so the next
 * call dials again (perhaps at a new address). Beside them, bulk-read lanes to each peer (`lane`),
 * the idle ones kept for the next read, dropped with the peer's sessions. A session that has sent a
 * transfer's worth of bytes is closed once it has been quiet for 2 s (it is recycled), and the next
 * call dials afresh: Node's TLS socket keeps, for as long as it lives, output buffers as large as the
 * largest write HTTP/2 gave it (8 and 4 MiB after an upload), and only closing it gives them back.
 */
import type { ClientHttp2Session } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { keptForNext } from '../buffer-pool.ts';
import { ArozError } from '../errors.ts';
import { BulkLane } from './bulk-client.ts';
import { dialPeer } from './client.ts';
import type { PinSource } from './peer-identity.ts';
import { type Identity, MAX_BULK_PER_PEER } from './server.ts';

export interface PeerAddress {
  host: string;
  port: number;
}

export interface PeerPoolOptions {
  identity: Identity;
  pins: PinSource;
  /** Candidate addresses of a node, best first. */
  addressesOf: (nodeUuid: string) => PeerAddress[];
  /** Dial out from this address (a node bound to one IP). */
  localAddress?: string;
  /** Runs first on every new session (the address record exchange); its failure is ignored. */
  onSession?: (nodeUuid: string, session: ClientHttp2Session, signal?: AbortSignal) => Promise<void>;
  /** Told of every dial's outcome (the address book learns from it). */
  onDial?: (nodeUuid: string, address: PeerAddress, error: ArozError | undefined) => void;
  /** A session is recycled once it has sent this many bytes (RECYCLE_AFTER_BYTES)… */
  recycleAfterBytes?: number;
  /** …and then been quiet this long (RECYCLE_QUIET_MS). */
  recycleQuietMs?: number;
}

/** Idle bulk lanes kept per peer, and how long one is kept unused (the server waits longer). */
const IDLE_LANES = 8;
const LANE_IDLE_MS = 10_000;
/** After a peer closed a new lane before answering (it does not serve bulk reads), HTTP/2 for this long. */
const NO_BULK_MS = 60_000;
/** Bytes a session must have sent before it is recycled (a heartbeat's session sends kilobytes). */
export const RECYCLE_AFTER_BYTES = 16 * 1024 * 1024;
/**
 * How long a session must have been quiet (sent less than QUIET_BYTES) before it is recycled: longer
 * than any pause inside a transfer, short enough that the next job does not start with its buffers.
 */
export const RECYCLE_QUIET_MS = 2_000;
/** What a quiet session may still send: heartbeats, address records, small requests. */
const QUIET_BYTES = 64 * 1024;

export class PeerPool {
  #options: PeerPoolOptions;
  #sessions = new Map<string, Promise<ClientHttp2Session>>();
  #closed = false;
  /** Every open bulk lane per peer, and the idle ones (most recently used last) with their timers. */
  #lanes = new Map<string, Set<BulkLane>>();
  #idle = new Map<string, Map<BulkLane, NodeJS.Timeout>>();
  #noBulk = new Map<string, number>();
  /** The address each live session was dialled at: bulk lanes go there too. */
  #addressOf = new WeakMap<ClientHttp2Session, PeerAddress>();
  /** The session each finished dial gave (`#sessions` holds promises: a dial in progress has none yet). */
  #dialled = new WeakMap<Promise<ClientHttp2Session>, ClientHttp2Session>();
  /** Sessions the pool recycled: a store holding one takes the pool's live session instead (`renewed`). */
  #recycled = new WeakSet<ClientHttp2Session>();
  /** Per live session: the bytes it had sent when it last fell quiet, and since when it is quiet. */
  #quiet = new WeakMap<ClientHttp2Session, { sent: number; since: number }>();
  #sweeper: NodeJS.Timeout;
  #unkeep: () => void;

  constructor(options: PeerPoolOptions) {
    this.#options = options;
    const quietMs = options.recycleQuietMs ?? RECYCLE_QUIET_MS;
    this.#sweeper = setInterval(() => this.#recycle(quietMs), quietMs / 4).unref();
    // Idle lanes hold a receive buffer each: an upload that starts closes them (src/buffer-pool.ts).
    this.#unkeep = keptForNext('download', () => this.#closeIdleLanes());
  }

  /** A verified session to `nodeUuid`, dialling its addresses in order if none is live. */
  session(nodeUuid: string, options: { signal?: AbortSignal } = {}): Promise<ClientHttp2Session> {
    if (this.#closed) return Promise.reject(new ArozError('ERR_INTERRUPTED', 'The node is shutting down'));
    const live = this.#sessions.get(nodeUuid);
    if (live !== undefined) return live;
    const dialling = this.#dial(nodeUuid, options.signal);
    this.#sessions.set(nodeUuid, dialling);
    dialling.then(
      (session) => {
        this.#dialled.set(dialling, session);
        if (session.closed || session.destroyed) this.#forget(nodeUuid, dialling);
        else session.once('close', () => this.#forget(nodeUuid, dialling));
      },
      () => this.#forget(nodeUuid, dialling),
    );
    return dialling;
  }

  /**
   * A bulk-read lane to `nodeUuid` (docs/protocol.md, "Bulk reads"): an idle one, or a new one
   * dialled to the address the live session was dialled at. Rejects with ERR_NOT_IMPLEMENTED while
   * the peer is known not to serve bulk reads (`bulkRefused`), and with ERR_BUSY while as many lanes
   * are open to it as a node accepts from one peer (MAX_BULK_PER_PEER).
   */
  async lane(nodeUuid: string, options: { signal?: AbortSignal } = {}): Promise<BulkLane> {
    if (this.#closed) throw new ArozError('ERR_INTERRUPTED', 'The node is shutting down');
    if ((this.#noBulk.get(nodeUuid) ?? 0) > Date.now()) {
      throw new ArozError('ERR_NOT_IMPLEMENTED', `Node "${nodeUuid}" does not serve bulk reads`);
    }
    const idle = this.#idle.get(nodeUuid);
    for (const [lane, timer] of [...(idle ?? [])].reverse()) {
      clearTimeout(timer);
      idle?.delete(lane);
      if (lane.usable) return lane;
    }
    // The peer closes connections beyond its limit at once; past it, reads go over HTTP/2.
    if ((this.#lanes.get(nodeUuid)?.size ?? 0) >= MAX_BULK_PER_PEER) {
      throw new ArozError('ERR_BUSY', `Node "${nodeUuid}" has ${MAX_BULK_PER_PEER} bulk connections in use`);
    }
    const session = await this.session(nodeUuid, options);
    const address = this.#addressOf.get(session);
    if (address === undefined || session.closed || session.destroyed) {
      throw new ArozError('ERR_PEER_UNREACHABLE', `The connection to node "${nodeUuid}" is closed`);
    }
    const lane = await BulkLane.dial({
      uuid: nodeUuid,
      ...address,
      identity: this.#options.identity,
      pins: this.#options.pins,
      ...(this.#options.localAddress !== undefined ? { localAddress: this.#options.localAddress } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    if (this.#closed) {
      lane.destroy();
      throw new ArozError('ERR_INTERRUPTED', 'The node is shutting down');
    }
    let open = this.#lanes.get(nodeUuid);
    if (open === undefined) {
      open = new Set();
      this.#lanes.set(nodeUuid, open);
    }
    const all = open;
    all.add(lane);
    lane.onDead = () => {
      all.delete(lane);
      const timer = this.#idle.get(nodeUuid)?.get(lane);
      clearTimeout(timer);
      this.#idle.get(nodeUuid)?.delete(lane);
    };
    lane.onIdle = () => this.#park(nodeUuid, lane);
    return lane;
  }

  /** The peer closed a new lane before answering: it does not serve bulk reads; HTTP/2 for a while. */
  bulkRefused(nodeUuid: string): void {
    this.#noBulk.set(nodeUuid, Date.now() + NO_BULK_MS);
  }

  #park(nodeUuid: string, lane: BulkLane): void {
    if (this.#closed) {
      lane.destroy();
      return;
    }
    let idle = this.#idle.get(nodeUuid);
    if (idle === undefined) {
      idle = new Map();
      this.#idle.set(nodeUuid, idle);
    }
    if (idle.size >= IDLE_LANES) {
      lane.destroy();
      return;
    }
    idle.set(lane, setTimeout(() => lane.destroy(), LANE_IDLE_MS).unref());
  }

  /** Closes every idle lane; false when there was none. */
  #closeIdleLanes(): boolean {
    let any = false;
    for (const idle of this.#idle.values()) {
      for (const [lane, timer] of idle) {
        clearTimeout(timer);
        lane.retire();
        any = true;
      }
      idle.clear();
    }
    return any;
  }

  #dropLanes(nodeUuid: string): void {
    for (const lane of this.#lanes.get(nodeUuid) ?? []) lane.destroy();
    this.#lanes.delete(nodeUuid);
    this.#idle.delete(nodeUuid);
  }

  /** Sets what runs first on every new session (the cluster services' record exchange). */
  greet(onSession: NonNullable<PeerPoolOptions['onSession']>): void {
    this.#options = { ...this.#options, onSession };
  }

  /**
   * Closes, gently (the requests in flight on it finish), every live session that has sent a
   * transfer's worth of bytes since it was dialled and nothing much for `quietMs`, and forgets it: the
   * next call dials a new one, and a store that still holds the closed session gets that (`renewed`).
   * Runs every quarter of `quietMs`. A session's own quiet time counts, not the node's: an upload
   * that ended is recycled while a download or a busy event loop goes on.
   */
  #recycle(quietMs: number): void {
    const now = performance.now();
    const afterBytes = this.#options.recycleAfterBytes ?? RECYCLE_AFTER_BYTES;
    for (const [nodeUuid, live] of this.#sessions) {
      const session = this.#dialled.get(live);
      if (session === undefined || session.closed || session.destroyed) continue;
      const sent = session.socket?.bytesWritten ?? 0;
      const quiet = this.#quiet.get(session);
      if (quiet === undefined || sent - quiet.sent >= QUIET_BYTES) {
        this.#quiet.set(session, { sent, since: now });
      } else if (sent >= afterBytes && now - quiet.since >= quietMs) {
        this.#sessions.delete(nodeUuid);
        this.#recycled.add(session);
        session.close();
      }
    }
  }

  /**
   * The session to use instead of `old`, which the pool recycled: the pool's live one (dialled if
   * none is). Undefined for a session that closed any other way (the peer went away, or it was
   * dropped): that stays a failure of the request.
   */
  renewed(
    nodeUuid: string,
    old: ClientHttp2Session,
    options: { signal?: AbortSignal } = {},
  ): Promise<ClientHttp2Session> | undefined {
    return this.#recycled.has(old) ? this.session(nodeUuid, options) : undefined;
  }

  /** Closes the sessions to `nodeUuid` (its key was revoked or changed). */
  drop(nodeUuid: string): void {
    const live = this.#sessions.get(nodeUuid);
    this.#sessions.delete(nodeUuid);
    live?.then((s) => s.destroy()).catch(() => {});
    this.#dropLanes(nodeUuid);
  }

  /** Uses a new identity (the key was switched): every live session is closed. */
  setIdentity(identity: Identity): void {
    this.#options = { ...this.#options, identity };
    for (const uuid of new Set([...this.#sessions.keys(), ...this.#lanes.keys()])) this.drop(uuid);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#unkeep();
    for (const uuid of new Set([...this.#sessions.keys(), ...this.#lanes.keys()])) this.drop(uuid);
  }

  /**
   * Runs `onSession` on a new session (its failure is ignored), but stops waiting when the session
   * closes under it: a peer that dies mid-greeting must not leave a dial that never settles (every
   * later caller would get it). A session that closed is a failed dial.
   */
  async #greet(
    nodeUuid: string,
    session: ClientHttp2Session,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const onSession = this.#options.onSession;
    if (onSession !== undefined) {
      let onClose = (): void => {};
      const closed = new Promise<void>((resolve) => {
        onClose = resolve;
        session.once('close', onClose);
      });
      // Its expected failures are ignored; a bug is rethrown (unless the session closed first).
      const greeting = onSession(nodeUuid, session, signal).then(
        () => undefined,
        (err: unknown) =>
          err instanceof ArozError || (err instanceof Error && 'code' in err) ? undefined : err,
      );
      try {
        const bug = await Promise.race([greeting, closed]);
        if (bug !== undefined) throw bug;
      } finally {
        session.off('close', onClose);
      }
    }
    if (session.closed || session.destroyed) {
      throw new ArozError(
        'ERR_PEER_UNREACHABLE',
        `The connection to node "${nodeUuid}" closed as it was set up`,
      );
    }
  }

  #forget(nodeUuid: string, which: Promise<ClientHttp2Session>): void {
    if (this.#sessions.get(nodeUuid) === which) this.#sessions.delete(nodeUuid);
  }

  async #dial(nodeUuid: string, signal: AbortSignal | undefined): Promise<ClientHttp2Session> {
    const addresses = this.#options.addressesOf(nodeUuid);
    if (addresses.length === 0) {
      throw new ArozError('ERR_PEER_UNREACHABLE', `No address is known for node "${nodeUuid}"`);
    }
    const answers: string[] = [];
    let refused = false; // some address answered, and that node does not trust this one
    for (const address of addresses) {
      try {
        const session = await dialPeer({
          uuid: nodeUuid,
          host: address.host,
          port: address.port,
          identity: this.#options.identity,
          pins: this.#options.pins,
          ...(this.#options.localAddress !== undefined ? { localAddress: this.#options.localAddress } : {}),
          ...(signal !== undefined ? { signal } : {}),
        });
        this.#options.onDial?.(nodeUuid, address, undefined);
        this.#addressOf.set(session, { host: address.host, port: address.port });
        await this.#greet(nodeUuid, session, signal);
        return session;
      } catch (err) {
        if (!(err instanceof ArozError)) throw err;
        this.#options.onDial?.(nodeUuid, address, err);
        answers.push(`${address.host}:${address.port}: ${err.message} (${err.code})`);
        refused ||= err.reason === 'refused-by-peer';
        if (addresses.length === 1) throw err;
      }
    }
    throw new ArozError('ERR_PEER_UNREACHABLE', `Cannot reach node "${nodeUuid}": ${answers.join('; ')}`, {
      ...(refused ? { reason: 'refused-by-peer' } : {}),
    });
  }
}
