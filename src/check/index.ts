/**
 * `check`: which copies of an index's chunks can be had right now. For every chunk and every holder
 * the index lists, the holder is asked (HEAD; with `deep`, the holder hashes its own copy through a
 * `verify` task, so no chunk byte crosses the network — or, without `verify`, the copy is read and
 * hashed here) and
 * the copy is `ok`, `missing`, `corrupt` or `unreachable`. A chunk is healthy with at least
 * `redundancy.copies` good copies, degraded with fewer, lost with none; an erasure-coded chunk's
 * shards are asked the same way, and it is healthy with all K + M shards good, degraded with K to
 * K + M − 1, lost with fewer than K (it cannot be rebuilt). The index signature is
 * verified and reported, but an untrusted index is still checked: check only reads, and only from
 * nodes this node trusts. Only the holders the index names are asked (holders are hints; a copy
 * elsewhere is not found). A node that does not answer costs one timeout per check, not one per
 * chunk. It never writes, repairs or deletes anything.
 */
import { ArozError, type ErrorCode } from '../errors.ts';
import {
  type IndexChunk,
  type IndexFile,
  isLocalIndex,
  piecesPerChunk,
  type StoredObject,
  storedObjectsOf,
} from '../index-file/index.ts';
import { type SignerKey, verifyIndex } from '../keys/index-signature.ts';
import { eachLimited } from '../limit.ts';
import type { ChunkStore } from '../store/types.ts';
import { answerOf, isFatal } from '../transfer/idle.ts';
import { type Redundancy, redundancyOf } from '../transfer/redundancy.ts';
import type { Connect } from '../transfer/types.ts';
import { bounded, differs, disagrees, hashCopy } from './copy.ts';

/** Per node: connect, each HEAD, and each read of a deep check may take this long without progress. */
export const CHECK_TIMEOUT_MS = 5_000;
const PIECE = 1024 * 1024;
/** Answers that say the node (not one copy) cannot be asked now: it is not asked again in this run. */
const NODE_DOWN = new Set<ErrorCode>([
  'ERR_PEER_UNREACHABLE',
  'ERR_PEER_UNTRUSTED',
  'ERR_PEER_NOT_FOUND',
  'ERR_TIMEOUT',
  'ERR_STORE_OFFLINE',
]);

/**
 * `mismatch`: the copy is intact by its holder's own record (and, deep, its bytes match that record)
 * but differs from the index — the index was changed, not the copy.
 */
export type CopyState = 'ok' | 'missing' | 'corrupt' | 'mismatch' | 'unreachable';
/**
 * With no good copy: `mismatch` when the holders' intact copies all agree with each other and not with
 * the index (the index is wrong, not the copies); else `unknown` when a holder could not be asked (the
 * copy may be there); `lost` when every holder answered and none has a good copy.
 */
export type ChunkHealth = 'healthy' | 'degraded' | 'mismatch' | 'unknown' | 'lost';

export interface CopyReport {
  node: string;
  /** Of an erasure-coded chunk: which shard this is a copy of. */
  shard?: number;
  state: CopyState;
  /** True when the bytes were read and hashed (deep); false when only the holder's record was asked. */
  verified: boolean;
  /** Why the copy is not ok: a stable code and one line. */
  code?: ErrorCode;
  error?: string;
  /** For a `mismatch`: the SHA-256 its holder has (recorded; with `deep`, also its bytes'). */
  sha256?: string;
}

export interface ChunkReport {
  i: number;
  uuid: string;
  size: number;
  health: ChunkHealth;
  /** Copies found ok (of an erasure-coded chunk: shards with a copy found ok). */
  good: number;
  holders: CopyReport[];
}

export interface CheckReport {
  id: string;
  name: string;
  size: number;
  sha256: string;
  copies: number;
  deep: boolean;
  /** Whether the index signature verifies against a key this node trusts, and whose it is. */
  trusted: boolean;
  signer: string | null;
  trustProblem: string | null;
  summary: {
    chunks: number;
    healthy: number;
    degraded: number;
    mismatch: number;
    unknown: number;
    lost: number;
  };
  chunks: ChunkReport[];
}

export interface CheckProgress {
  phase: 'check';
  /** Bytes of listed copies settled (deep: hashed) so far, and in all. */
  done: number;
  total: number;
  chunksDone: number;
  chunks: number;
}

/** What a holder found when it hashed its own copy (the `verify` task, docs/protocol.md "Tasks"). */
export interface VerifyVerdict {
  state: 'ok' | 'corrupt' | 'missing';
  recorded: { sha256: string; size: number } | null;
  actual: string | null;
}

/** Has `node` hash its own copy of `chunk` where it lies. */
export type Verify = (
  node: string,
  chunk: { uuid: string; sha256: string; size: number },
  signal: AbortSignal,
) => Promise<VerifyVerdict>;

export interface CheckOptions {
  connect: Connect;
  /** With `deep`: holders hash their own copies (no chunk bytes move); else copies are read here. */
  verify?: Verify;
  /** Keys an index may be signed with (see signerKeys). */
  trusted: readonly SignerKey[];
  deep?: boolean;
  /** Nodes known to hold a chunk besides the index's holders (the catalog's holdings statements). */
  holdersOf?: (chunk: string) => Iterable<string>;
  timeoutMs?: number;
  /** Copies asked at once (default 8; deep 2: hashing is the work). */
  parallel?: number;
  signal?: AbortSignal;
  onProgress?: (event: CheckProgress) => void;
}

/** Checks every listed copy of every chunk of `index`. ERR_INDEX_INVALID for a local (sliced) index. */
export async function checkIndex(index: IndexFile, options: CheckOptions): Promise<CheckReport> {
  const signal = options.signal ?? new AbortController().signal;
  const ms = options.timeoutMs ?? CHECK_TIMEOUT_MS;
  const deep = options.deep === true;
  if (isLocalIndex(index)) {
    throw new ArozError(
      'ERR_INDEX_INVALID',
      `Cannot check "${index.file.name}": its index lists no nodes (it was made by slice; merge checks its chunks)`,
    );
  }
  let signer: SignerKey | undefined;
  let trustProblem: string | null = null;
  try {
    signer = verifyIndex(index, options.trusted);
  } catch (err) {
    if (!(err instanceof ArozError) || err.code !== 'ERR_INDEX_UNTRUSTED') throw err;
    trustProblem = err.message;
  }

  const stores = new Map<string, Promise<ChunkStore>>();
  const down = new Map<string, ArozError>();
  const storeOf = (node: string) => {
    let store = stores.get(node);
    if (store === undefined) {
      store = bounded((s) => options.connect(node, s), ms, signal, `Connecting to node "${node}"`, node);
      store.catch(() => {});
      stores.set(node, store);
    }
    return store;
  };

  const reports: ChunkReport[] = index.chunks.map((chunk) => ({
    i: chunk.i,
    uuid: chunk.uuid,
    size: chunk.size,
    health: 'lost',
    good: 0,
    holders: [],
  }));
  const holdersOf = (object: StoredObject) => [
    ...new Set([...object.holders.map((h) => h.node), ...(options.holdersOf?.(object.uuid) ?? [])]),
  ];
  // What is asked for: a whole chunk, or one shard of one (asked as if it were a chunk of its own).
  const objects = storedObjectsOf(index);
  const tasks = objects.flat().flatMap((object) => {
    const asked: IndexChunk = { ...object, offset: 0 };
    return holdersOf(object).map((node) => ({ object, chunk: asked, node }));
  });
  const left = objects.map((list) => list.reduce((n, o) => n + holdersOf(o).length, 0));
  const goodShards = objects.map(() => new Set<number>());
  const total = tasks.reduce((n, t) => n + t.chunk.size, 0);
  let done = 0;
  let chunksDone = left.filter((n) => n === 0).length;
  const progress = () =>
    options.onProgress?.({ phase: 'check', done, total, chunksDone, chunks: index.chunks.length });

  /** Asks `node` for its copy of `chunk`; `counted.n` says how many bytes it already reported. */
  const askOne = async (
    chunk: IndexChunk,
    node: string,
    buffer: Buffer,
    counted: { n: number },
  ): Promise<CopyReport> => {
    const known = down.get(node);
    if (known !== undefined) return failed(node, 'unreachable', known);
    try {
      const store = await storeOf(node);
      const what = `Checking chunk ${chunk.i} on node "${node}"`;
      if (!deep) {
        const info = await bounded((s) => store.head(chunk.uuid, { signal: s }), ms, signal, what, node);
        if (info === undefined) return { node, state: 'missing', verified: false };
        if (info.size !== chunk.size || info.sha256 !== chunk.sha256) {
          // The record is what the holder verified when the copy was stored: the index changed.
          const how = `is recorded with SHA-256 "${info.sha256.slice(0, 12)}…", size ${info.size}`;
          return mismatch(node, disagrees(chunk, node, how), info.sha256, false);
        }
        return { node, state: 'ok', verified: false };
      }
      if (options.verify !== undefined)
        return verdictOf(chunk, node, await options.verify(node, chunk, signal));
      const { sha256, recorded } = await hashCopy(store, chunk, node, buffer, {
        ms,
        signal,
        onBytes: (n) => {
          counted.n += n;
          done += n;
          progress();
        },
      });
      if (sha256 === undefined) {
        const how = 'has another size, as its holder recorded';
        return mismatch(node, disagrees(chunk, node, how), recorded, false);
      }
      if (sha256 === chunk.sha256) return { node, state: 'ok', verified: true };
      if (sha256 !== recorded) return failed(node, 'corrupt', differs(chunk, node, 'its bytes differ'));
      const how = `is intact (its bytes match its holder's record, SHA-256 "${sha256.slice(0, 12)}…")`;
      return mismatch(node, disagrees(chunk, node, how), sha256, true);
    } catch (err) {
      if (isFatal(err, signal)) throw err;
      const answer = answerOf(err, { i: chunk.i, uuid: chunk.uuid, node });
      const error = err instanceof ArozError ? err : new ArozError(answer.code, answer.message);
      if (error.code === 'ERR_CHUNK_MISSING') return { node, state: 'missing', verified: false };
      if (error.code === 'ERR_CHUNK_HASH' || error.code === 'ERR_CHUNK_SIZE') {
        return failed(node, 'corrupt', error);
      }
      if (NODE_DOWN.has(error.code)) down.set(node, error);
      return failed(node, 'unreachable', error);
    }
  };

  const parallel = options.parallel ?? (deep ? 2 : 8);
  await eachLimited(
    tasks,
    parallel,
    async ({ object, chunk, node }, mine) => {
      const counted = { n: 0 };
      const copy: CopyReport = await askOne(chunk, node, mine.buffer, counted);
      // A read that timed out may still fill its buffer later: never reuse that one.
      if (copy.code === 'ERR_TIMEOUT') mine.buffer = Buffer.allocUnsafeSlow(mine.buffer.length);
      const report = reports[chunk.i]!;
      if (object.shard !== undefined) copy.shard = object.shard;
      report.holders.push(copy);
      if (copy.state === 'ok' && object.shard === undefined) report.good++;
      else if (copy.state === 'ok' && !goodShards[chunk.i]!.has(object.shard!)) {
        goodShards[chunk.i]!.add(object.shard!);
        report.good++;
      }
      done += chunk.size - counted.n;
      if (--left[chunk.i]! === 0) chunksDone++;
      progress();
    },
    { init: () => ({ buffer: Buffer.allocUnsafeSlow(deep ? PIECE : 0) }) },
  );

  const copies = piecesPerChunk(index.redundancy);
  const redundancy = redundancyOf(index.redundancy);
  const summary = { chunks: reports.length, healthy: 0, degraded: 0, mismatch: 0, unknown: 0, lost: 0 };
  for (const [k, report] of reports.entries()) {
    const orders = objects[k]!.map(holdersOf);
    const place = (h: CopyReport) => orders[h.shard ?? 0]!.indexOf(h.node);
    report.holders.sort((a, b) => (a.shard ?? 0) - (b.shard ?? 0) || place(a) - place(b));
    report.health = healthOf(report, redundancy);
    summary[report.health]++;
  }
  return {
    id: index.id,
    name: index.file.name,
    size: index.file.size,
    sha256: index.file.sha256,
    copies,
    deep,
    trusted: signer !== undefined,
    signer: signer?.owner ?? null,
    trustProblem,
    summary,
    chunks: reports,
  };
}

/** A holder's own verdict on its copy, as check reports it (the same states as a read here). */
function verdictOf(chunk: IndexChunk, node: string, v: VerifyVerdict): CopyReport {
  if (v.state === 'missing') return { node, state: 'missing', verified: false };
  if (v.actual === chunk.sha256) return { node, state: 'ok', verified: true };
  if (v.recorded === null)
    return failed(node, 'corrupt', differs(chunk, node, 'its holder has no record of it'));
  if (v.actual === null) {
    if (v.recorded.size !== chunk.size) {
      const how = 'has another size, as its holder recorded';
      return mismatch(node, disagrees(chunk, node, how), v.recorded.sha256, false);
    }
    return failed(node, 'corrupt', differs(chunk, node, 'its file is not as long as its record says'));
  }
  if (v.actual !== v.recorded.sha256)
    return failed(node, 'corrupt', differs(chunk, node, 'its bytes differ'));
  const how = `is intact (its bytes match its holder's record, SHA-256 "${v.actual.slice(0, 12)}…")`;
  return mismatch(node, disagrees(chunk, node, how), v.actual, true);
}

function failed(node: string, state: CopyState, err: ArozError): CopyReport {
  return { node, state, verified: false, code: err.code, error: err.message };
}

function mismatch(node: string, err: ArozError, sha256: string, verified: boolean): CopyReport {
  return { node, state: 'mismatch', verified, code: err.code, error: err.message, sha256 };
}

/** See ChunkHealth: `mismatch` needs at least one intact copy, and all intact copies alike. */
function healthOf(report: ChunkReport, redundancy: Redundancy): ChunkHealth {
  if (report.good >= redundancy.needed) return redundancy.health(report.good);
  if (redundancy.needed > 1) {
    // Shards differ from each other: too few good ones is lost, unless a holder could not be asked.
    return report.holders.some((h) => h.state === 'unreachable') ? 'unknown' : 'lost';
  }
  const agreed = new Set(report.holders.flatMap((h) => (h.state === 'mismatch' ? [h.sha256] : [])));
  if (agreed.size === 1) return 'mismatch';
  if (report.holders.some((h) => h.state === 'unreachable')) return 'unknown';
  return 'lost';
}
