/**
 * RemoteStore: a ChunkStore whose chunks live on a verified peer, reached over one pinned HTTP/2
 * session (docs/protocol.md). Upload and download treat it like a local store. It runs the same
 * input checks as a local store before anything is sent, so a hostile UUID never reaches the wire.
 *
 * Over the wire the peer records the *verified caller* as a chunk's uploader, so this store acts
 * only as this node: a put whose `meta.uploader`, or a delete whose `by`, is another node is refused
 * with ERR_NOT_UPLOADER. `status()` is the aggregate of the peer's stores (`kind: 'remote'`), like a
 * StoreSet's; it reports a closed or unreachable peer as offline instead of throwing. `purgeTrash`
 * is ERR_NOT_IMPLEMENTED: emptying a trash is the holding node's own decision (its grace period),
 * and nothing on the cluster port may make it. `close()` aborts puts in progress and closes the
 * session (reads in progress may finish): a RemoteStore over a session it does not own (a PeerPool's)
 * is simply dropped, never closed.
 */
import type { ClientHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { ArozError, isArozError } from '../errors.ts';
import { nodeUuidOfCertificate } from '../keys/certificate.ts';
import {
  checkChunkUuid,
  checkMeta,
  checkRange,
  checkSize,
  interrupted,
  missingError,
  throwIfAborted,
} from '../store/checks.ts';
import { RangeReader } from '../store/range-reader.ts';
import type * as T from '../store/types.ts';
import { assertUuid } from '../uuid.ts';
import type { BulkLane } from './bulk-client.ts';
import { getRemoteChunk, RemoteChunkReader } from './chunk-get.ts';
import { RemoteChunkWriter } from './chunks.ts';
import { getJson, readBody, request } from './client.ts';
import { parseNodeInfo } from './node-info.ts';
import { errorFromWire } from './wire.ts';

export interface RemoteStoreOptions {
  /** This node's UUID; default: the node UUID in the session's own certificate. */
  self?: string;
  /** A put or read that makes no progress for this long fails (default LIMITS.requestTimeoutMs). */
  idleMs?: number;
  /** Where reads go when given: bulk lanes to the peer (docs/protocol.md, "Bulk reads"). */
  bulk?: BulkSource;
  /**
   * The session to use once the one in hand has closed, when its pool closed it on purpose (a
   * PeerPool's `renewed`); undefined for one that closed any other way, which stays a failure.
   */
  renew?: (old: ClientHttp2Session, signal?: AbortSignal) => Promise<ClientHttp2Session> | undefined;
}

/** Bulk lanes to one peer (a PeerPool's). */
export interface BulkSource {
  /** An idle lane or a new one; rejects when the peer cannot be reached that way. */
  lane(signal?: AbortSignal): Promise<BulkLane>;
  /** A new lane closed before its first answer: the peer does not serve bulk reads. */
  refused(): void;
}

/** How long `close()` lets reads in progress finish before it cuts the session. */
const CLOSE_GRACE_MS = 5_000;

export class RemoteStore implements T.ChunkStore {
  /** The peer's node UUID. */
  readonly id: string;
  /** This node's UUID: the uploader of every put made through this store. */
  readonly self: string;
  #session: ClientHttp2Session;
  #idleMs: number | undefined;
  #bulk: BulkSource | undefined;
  #renew: RemoteStoreOptions['renew'];
  #closed = false;
  #writers = new Set<RemoteChunkWriter>();

  constructor(session: ClientHttp2Session, peerUuid: string, options: RemoteStoreOptions = {}) {
    this.id = assertUuid(peerUuid, 'Peer node UUID');
    this.self = assertUuid(options.self ?? ownUuid(session), 'This node UUID');
    this.#session = session;
    this.#idleMs = options.idleMs;
    this.#bulk = options.bulk;
    this.#renew = options.renew;
  }

  async status(options: T.SignalOptions = {}): Promise<T.StoreStatus> {
    if (this.#closed) return this.#offline('closed', 'the store was closed');
    try {
      const session = await this.#live(options.signal);
      const info = parseNodeInfo(await getJson(session, '/v1/node', this.id, options), this.id);
      return aggregate(this.id, info.stores);
    } catch (err) {
      if (!(err instanceof ArozError)) throw err;
      if (options.signal?.aborted) throw err;
      return this.#offline('io-error', err.message);
    }
  }

  async beginPut(uuid: string, options: T.PutOptions): Promise<T.ChunkWriter> {
    checkChunkUuid(uuid);
    const size = checkSize(options.size, uuid);
    const meta = checkMeta(options.meta);
    throwIfAborted(options.signal, `The put of chunk "${uuid}"`);
    this.#assertSelf(meta.uploader, `put chunk "${uuid}" as`);
    const session = await this.#live(options.signal);
    const settled = { writer: undefined as RemoteChunkWriter | undefined };
    const writer = await RemoteChunkWriter.open(session, this.id, uuid, {
      size,
      ...(meta.indexId !== undefined ? { indexId: meta.indexId } : {}),
      ...(meta.i !== undefined ? { i: meta.i } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(this.#idleMs !== undefined ? { idleMs: this.#idleMs } : {}),
      onSettled: () => {
        if (settled.writer !== undefined) this.#writers.delete(settled.writer);
        settled.writer = undefined;
      },
    });
    this.#writers.add(writer);
    settled.writer = writer;
    return writer;
  }

  async get(uuid: string, options: T.GetOptions = {}): Promise<T.ChunkReader> {
    checkChunkUuid(uuid);
    throwIfAborted(options.signal, `The read of chunk "${uuid}"`);
    const { start, end, signal } = options;
    for (const at of [start, end]) {
      if (at !== undefined && !(Number.isSafeInteger(at) && at >= 0)) checkRange(options, 0, uuid);
    }
    if (start !== undefined && end !== undefined && start > end) checkRange(options, end, uuid);
    const session = await this.#live(signal);
    const bulk = (start ?? 0) === end ? undefined : await this.#bulkGet(uuid, options);
    if (bulk !== undefined) return bulk;
    // HTTP has no empty byte range: ask for the info and check the range here.
    const empty = (start ?? 0) === end ? await this.#emptyRange(uuid, options) : undefined;
    if (empty !== undefined) return empty;
    let chunk: Awaited<ReturnType<typeof getRemoteChunk>>;
    try {
      chunk = await getRemoteChunk(session, this.id, uuid, options);
    } catch (err) {
      // `bytes=<size>-` is 416, where a local store reads zero bytes at the end: tell the two apart.
      if (!isArozError(err, 'ERR_INVALID_RANGE') || start === undefined || end !== undefined) throw err;
      const atEnd = await this.#emptyRange(uuid, options);
      if (atEnd === undefined) throw err;
      return atEnd;
    }
    return new RemoteChunkReader(chunk, this.id, {
      ...(this.#idleMs !== undefined ? { idleMs: this.#idleMs } : {}),
      ...(signal !== undefined ? { signal } : {}),
    });
  }

  /**
   * A read over a bulk lane; undefined (read over HTTP/2 instead) when no lane could be had, or when
   * the lane closed before the peer answered: a pooled lane the peer had let go, or a peer that does
   * not serve bulk reads (then HTTP/2 for a while). Once the peer answered, its answer stands.
   */
  async #bulkGet(uuid: string, options: T.GetOptions): Promise<T.ChunkReader | undefined> {
    if (this.#bulk === undefined) return undefined;
    const { signal } = options;
    let lane: BulkLane;
    try {
      lane = await this.#bulk.lane(signal);
    } catch (err) {
      if (signal?.aborted) throw interrupted(signal, `The read of chunk "${uuid}"`);
      if (!(err instanceof ArozError)) throw err;
      return undefined;
    }
    try {
      return await lane.get(
        {
          uuid,
          ...(options.start !== undefined ? { start: options.start } : {}),
          ...(options.end !== undefined ? { end: options.end } : {}),
        },
        {
          ...(signal !== undefined ? { signal } : {}),
          ...(this.#idleMs !== undefined ? { idleMs: this.#idleMs } : {}),
        },
      );
    } catch (err) {
      if (signal?.aborted || lane.answered || !isArozError(err, 'ERR_PEER_UNREACHABLE')) throw err;
      if (lane.requests === 1) this.#bulk.refused();
      return undefined;
    }
  }

  /**
   * A reader of no bytes when the chunk's info says the range is empty and fits it; undefined when
   * the range is not empty; ERR_INVALID_RANGE when it lies outside the chunk.
   */
  async #emptyRange(uuid: string, options: T.GetOptions): Promise<T.ChunkReader | undefined> {
    const info = await this.head(uuid, options.signal !== undefined ? { signal: options.signal } : {});
    if (info === undefined) throw missingError(uuid, `node "${this.id}"`);
    const range = checkRange(options, info.size, uuid);
    if (range.start !== range.end) return undefined;
    return new RangeReader(info, range, { read: async () => 0, close: async () => {} }, options.signal);
  }

  async head(uuid: string, options: T.SignalOptions = {}): Promise<T.ChunkInfo | undefined> {
    checkChunkUuid(uuid);
    const session = await this.#live(options.signal);
    try {
      return (await getRemoteChunk(session, this.id, uuid, { ...options, head: true })).info;
    } catch (err) {
      if (isArozError(err, 'ERR_CHUNK_MISSING')) return undefined;
      throw err;
    }
  }

  async has(uuid: string, options: T.SignalOptions = {}): Promise<boolean> {
    return (await this.head(uuid, options)) !== undefined;
  }

  async delete(uuid: string, options: T.DeleteOptions): Promise<void> {
    checkChunkUuid(uuid);
    const by = assertUuid(options.by, 'Deleting node UUID');
    this.#assertSelf(by, `delete chunk "${uuid}" as`);
    const session = await this.#live(options.signal);
    const signal = options.signal !== undefined ? { signal: options.signal } : {};
    const res = await request(session, { ':method': 'DELETE', ':path': `/v1/chunks/${uuid}` }, signal);
    const body = await readBody(res.stream);
    if (res.status !== 200) throw errorFromWire(res.status, body, this.id);
  }

  async purgeTrash(_options: T.PurgeOptions = {}): Promise<number> {
    throw new ArozError(
      'ERR_NOT_IMPLEMENTED',
      `Cannot purge the trash of node "${this.id}" from here: each node empties its own trash`,
    );
  }

  /** Aborts puts in progress and closes the session. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#writers].map((w) => w.abort(new Error('store closed'))));
    const session = this.#session;
    if (session.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => session.destroy(), CLOSE_GRACE_MS);
      session.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      session.close(); // a no-op when the session is already closing
    });
  }

  /** The session for the next request: the one in hand, or the pool's new one once it was recycled. */
  async #live(signal: AbortSignal | undefined): Promise<ClientHttp2Session> {
    if (this.#closed) {
      throw new ArozError('ERR_STORE_OFFLINE', `Store "${this.id}" is offline: the store was closed`);
    }
    const old = this.#session;
    if (old.destroyed || old.closed) {
      const next = this.#renew?.(old, signal);
      if (next === undefined) {
        throw new ArozError('ERR_PEER_UNREACHABLE', `The connection to node "${this.id}" is closed`);
      }
      const session = await next;
      if (this.#session === old) this.#session = session;
    }
    return this.#session;
  }

  #assertSelf(node: string, what: string): void {
    if (node === this.self) return;
    throw new ArozError(
      'ERR_NOT_UPLOADER',
      `Cannot ${what} node "${node}" on node "${this.id}": the peer records this node ("${this.self}") as the uploader`,
    );
  }

  #offline(reason: T.OfflineReason, message: string): T.StoreStatus {
    const zero = { capacity: 0, free: 0, used: 0, reserved: 0, chunks: 0, trash: { chunks: 0, bytes: 0 } };
    return { id: this.id, kind: 'remote', online: false, reason, message, ...zero };
  }
}

/** The node UUID of this node's certificate on the session's TLS socket. */
function ownUuid(session: ClientHttp2Session): string {
  const cert = (session.socket as TLSSocket | undefined)?.getX509Certificate?.();
  if (cert === undefined) {
    throw new ArozError('ERR_PEER_UNREACHABLE', 'The session has no TLS certificate of this node');
  }
  return nodeUuidOfCertificate(cert);
}

/** The peer's stores as one, like StoreSet.status: `free` is the largest chunk one store can take. */
function aggregate(id: string, stores: readonly T.StoreStatus[]): T.StoreStatus {
  const online = stores.filter((s) => s.online);
  const sum = (f: (s: T.StoreStatus) => number) => online.reduce((n, s) => n + f(s), 0);
  const status: T.StoreStatus = {
    id,
    kind: 'remote',
    online: online.length > 0,
    capacity: sum((s) => s.capacity),
    free: Math.max(0, ...online.map((s) => s.free)),
    used: sum((s) => s.used),
    reserved: sum((s) => s.reserved),
    chunks: sum((s) => s.chunks),
    trash: { chunks: sum((s) => s.trash.chunks), bytes: sum((s) => s.trash.bytes) },
  };
  if (online.length === 0) {
    status.reason = 'missing-folder';
    status.message = stores.length === 0 ? 'the node has no store' : 'no store of the node is online';
  }
  return status;
}
