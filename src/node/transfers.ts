/**
 * The daemon's upload and download jobs: they wire the transfer engines to this node's stores, its
 * peers (through the peer pool, at their current addresses) and its keys. Parameters are parsed by
 * the job registry (src/ops/jobs.ts) and checked again here: UUIDs canonical, every node in a
 * cluster list trusted. `idleMs` is the no-progress timeout for every node the job talks to
 * (default 30 s): a frozen node costs that long once per job.
 *
 * A job cut by the daemon's shutdown (or a crash) resumes from its journal at the next start; one that
 * failed or was cancelled is over: a download removes its partial file, an upload deletes the copies
 * it stored (nothing refers to them without an index).
 */
import { dirname, join } from 'node:path';
import { debuglog } from 'node:util';
import type { OpenedFile } from '../chunk/files.ts';
import { checkOutput } from '../chunk/merge.ts';
import type { ReaderKey } from '../crypto/index.ts';
import { ensureDir, writeFileAtomic } from '../durable/index.ts';
import { ArozError, isProgrammingError } from '../errors.ts';
import type { NodeHome } from '../home/open.ts';
import { keptIndexPath } from '../home/paths.ts';
import {
  encodeIndex,
  type IndexFile,
  isSealed,
  piecesPerChunk,
  readIndexFile,
  storedObjects,
} from '../index-file/index.ts';
import type { JobContext } from '../jobs/types.ts';
import type { KeyPair } from '../keys/rsa.ts';
import { eachLimited } from '../limit.ts';
import type { DownloadParams, DownloadResult, UploadParams, UploadResult } from '../ops/jobs.ts';
import { defaultClusterList, type NodeSpace } from '../placement/index.ts';
import {
  DEFAULT_IDLE_MS,
  downloadFile,
  FileDownloadJournal,
  FileUploadJournal,
  uploadFile,
} from '../transfer/index.ts';
import { parseEc } from '../transfer/redundancy.ts';
import { assertUuid } from '../uuid.ts';
import type { CatalogService } from './catalog-service.ts';
import { type ConnectParts, connector } from './connect.ts';
import { readSigners } from './read-trust.ts';
import type { RepairService } from './repair.ts';

const debug = debuglog('arozdfs');

/** How long the default cluster list waits for each peer to answer before leaving it out (at most). */
const PROBE_MS = 3_000;
/** What the transfer jobs need of the node. */
export interface TransferParts extends ConnectParts {
  home: NodeHome;
  /** The catalog: an upload enters its index; a download takes the newest revision it knows. */
  catalog: Pick<CatalogService, 'indexed' | 'indexedMany' | 'store'>;
  /** Runs repair passes (the `repair` job). */
  repair: Pick<RepairService, 'pass'>;
  /** True once the node is shutting down (a job cut now must resume later, not clean up). */
  closing(): boolean;
  /** A web upload still being staged: the job reads it as it grows (src/web/staging.ts). */
  stagingSource?: (path: string) => Promise<OpenedFile | undefined>;
}

/** Chunks around the last journaled one that may have a copy stored but not journaled yet. */
const IN_FLIGHT_WINDOW = 2;
const CLEANUP_PARALLEL = 8;

/**
 * Deletes the copies of a failed or cancelled upload (best effort, each delete bounded by `idleMs`):
 * the job is over and no index will ever name them. Deleted are the journaled copies, and, for the
 * chunks that were in flight when it stopped (a copy may have been stored just as the upload was
 * cut, before it could be journaled), that chunk on every node of the cluster list. A copy missing
 * there is fine; anything else left over is for garbage collection (docs/transfer.md
 * "Failures, cleanup and resume").
 */
export async function removeUploadedCopies(parts: TransferParts, journal: FileUploadJournal, idleMs: number) {
  const state = await journal.load();
  if (state === undefined) return;
  const { plan } = state;
  const doomed = new Map<string, { node: string; uuid: string }>();
  const add = (i: number, node: string) => {
    const uuid = plan.chunks[i]?.uuid;
    if (uuid !== undefined) doomed.set(`${node}/${uuid}`, { node, uuid });
  };
  for (const copy of state.copies) add(copy.i, copy.node);
  const last = Math.max(-1, ...state.copies.map((c) => c.i));
  for (let i = Math.max(0, last - IN_FLIGHT_WINDOW); i <= last + IN_FLIGHT_WINDOW; i++) {
    for (const node of plan.nodes) add(i, node);
  }
  const connect = connector(parts, idleMs);
  await eachLimited([...doomed.values()], CLEANUP_PARALLEL, async ({ node, uuid }) => {
    const signal = AbortSignal.timeout(idleMs);
    await connect(node, signal)
      .then((store) => store.delete(uuid, { by: parts.nodeUuid, signal }))
      .catch((err: unknown) => {
        if (isProgrammingError(err)) throw err;
      });
  });
}

/**
 * Every trusted peer that answers now with an online store, plus this node when it has one, with the
 * bytes each can take now (its stores' `free`: after the stores' reserved space and the puts in
 * progress). A peer must answer a request, not only hold a connection: a frozen node keeps its live
 * session open.
 */
export async function onlineNodes(
  parts: TransferParts,
  probeMs: number,
  signal: AbortSignal,
): Promise<NodeSpace[]> {
  const probes = parts.trust.list().map(async (peer): Promise<NodeSpace | undefined> => {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(probeMs)]);
    try {
      const store = await connector(parts, probeMs)(peer.nodeUuid, timeout);
      const status = await store.status({ signal: timeout });
      return status.online ? { node: peer.nodeUuid, free: bytes(status.free) } : undefined;
    } catch (err) {
      if (isProgrammingError(err)) throw err;
      return undefined; // unreachable, untrusted, timed out (or the job was cancelled: it stops next)
    }
  });
  const peers = (await Promise.all(probes)).filter((u) => u !== undefined);
  const own = await parts.stores.status();
  const self = own.online ? [{ node: parts.nodeUuid, free: bytes(own.free) }] : [];
  return [...self, ...peers];
}

/** A peer's free space as a whole number of bytes (anything else counts as none). */
const bytes = (free: unknown): number =>
  Number.isSafeInteger(free) && (free as number) > 0 ? (free as number) : 0;

export function uploadRunner(parts: TransferParts) {
  return async (params: UploadParams, ctx: JobContext): Promise<UploadResult> => {
    const { file, force, chunkSize, shift, copies, idleMs } = params;
    const ec = params.ec === undefined ? undefined : parseEc(params.ec);
    const indexOut = params.index;
    if (indexOut !== undefined && !ctx.resumed) await checkOutput(indexOut, force, 'Cannot write the index');
    const journal = new FileUploadJournal(join(ctx.workDir, 'upload.journal'));
    let signed = false;
    try {
      const { nodes, free } = await clusterList(parts, params.nodes, journal, idleMs, ctx);
      checkEnoughNodes(
        parts,
        nodes,
        ec !== undefined ? ec.data + ec.parity : (copies ?? DEFAULT_COPIES),
        params.nodes !== undefined,
      );
      const source = params.staged === true ? await parts.stagingSource?.(file) : undefined;
      const index = await uploadFile(file, {
        ...(source !== undefined ? { source } : {}),
        nodes,
        ...(free !== undefined ? { free } : {}),
        ...(chunkSize !== undefined ? { chunkSize } : {}),
        ...(shift !== undefined ? { shift } : {}),
        ...(copies !== undefined ? { copies } : {}),
        ...(ec !== undefined ? { ec } : {}),
        ...(params.encrypt === true ? { encrypt: { readers: readerKeys(parts, params.readers) } } : {}),
        ...(idleMs !== undefined ? { idleMs } : {}),
        self: { nodeUuid: parts.nodeUuid, keyPair: await parts.home.activeKeyPair() },
        connect: connector(parts, idleMs),
        journal,
        signal: ctx.signal,
        onProgress: (p) => ctx.onProgress(p),
      });
      signed = true; // from here on an index names the copies: they are never deleted
      const text = encodeIndex(index);
      const kept = keptIndexPath(parts.home.paths, index.id);
      await ensureDir(dirname(kept), 0o700);
      await writeFileAtomic(kept, text, { mode: 0o600, overwrite: true });
      if (indexOut !== undefined) {
        // A run cut after it wrote the index (before the job was marked done) wrote this very index.
        const again = ctx.resumed && (await indexIdAt(indexOut)) === index.id;
        await writeFileAtomic(indexOut, text, { overwrite: force || again });
      }
      // Into the catalog (and so to every node). A failure leaves the kept index: the next start enters it.
      await parts.catalog.indexed(index).catch((err: unknown) => {
        if (isProgrammingError(err)) throw err;
        debug('upload %s: the index was not entered into the catalog: %s', index.id, (err as Error).message);
      });
      return {
        index: indexOut ?? kept,
        kept,
        id: index.id,
        file: index.file,
        chunks: index.chunks.length,
        copies: piecesPerChunk(index.redundancy),
        cluster: index.cluster ?? [],
        placement: index.chunks.map((c) => ({
          i: c.i,
          uuid: c.uuid,
          // Of an erasure-coded chunk: the holders of its shards, in shard order.
          holders: storedObjects(c).flatMap((o) => o.holders.map((h) => h.node)),
        })),
      };
    } catch (err) {
      // Cut by shutdown: the journal and the copies stay for the resume. Otherwise the job is over.
      if (!parts.closing() && !signed) {
        await removeUploadedCopies(parts, journal, idleMs ?? DEFAULT_IDLE_MS).catch((e: unknown) => {
          if (isProgrammingError(e)) throw e;
        });
      }
      throw err;
    } finally {
      await journal.close();
    }
  };
}

/** The id of the index file at `path`, or undefined when there is none (or not an index). */
async function indexIdAt(path: string): Promise<string | undefined> {
  try {
    return (await readIndexFile(path)).id;
  } catch (err) {
    if (isProgrammingError(err)) throw err;
    return undefined;
  }
}

/**
 * The cluster list of an upload: `--nodes` as given (each this node or a trusted peer), used in that
 * order; else the list and free space the interrupted run journaled (the nodes online now may differ);
 * else every node online now with its free space, for spread placement (docs/transfer.md).
 */
async function clusterList(
  parts: TransferParts,
  asked: unknown[] | undefined,
  journal: FileUploadJournal,
  idleMs: number | undefined,
  ctx: JobContext,
): Promise<{ nodes: string[]; free?: number[] }> {
  return await clusterListOf(parts, asked, idleMs, ctx.signal, async () => {
    const earlier = ctx.resumed ? await journal.load() : undefined;
    return earlier?.plan;
  });
}

/**
 * The cluster list of an upload or a batch: `--nodes` as asked; else the one `earlier` gives (what
 * an interrupted run journaled); else every node online now with its free space, probed once.
 */
export async function clusterListOf(
  parts: TransferParts,
  asked: unknown[] | undefined,
  idleMs: number | undefined,
  signal: AbortSignal,
  earlierPlan: () => Promise<{ nodes: string[]; free?: number[] | undefined } | undefined>,
): Promise<{ nodes: string[]; free?: number[] }> {
  if (Array.isArray(asked)) {
    const nodes = asked.map((n) => assertUuid(n, 'A node in --nodes'));
    for (const node of nodes) {
      if (node !== parts.nodeUuid && parts.trust.get(node) === undefined) {
        throw new ArozError('ERR_PLACEMENT', `Node "${node}" in --nodes is not this node nor a trusted peer`);
      }
    }
    return { nodes };
  }
  const earlier = await earlierPlan();
  if (earlier !== undefined) {
    const { nodes, free } = earlier;
    return free !== undefined ? { nodes, free } : { nodes };
  }
  const probeMs = Math.min(PROBE_MS, idleMs ?? PROBE_MS);
  const online = await onlineNodes(parts, probeMs, signal);
  const space = new Map(online.map(({ node, free }) => [node, free]));
  const nodes = defaultClusterList(space.keys());
  return { nodes, free: nodes.map((node) => space.get(node)!) };
}

/**
 * The pinned keys of the readers of an encrypted upload: the nodes named (each must be trusted
 * here), or every trusted node. ERR_PEER_NOT_FOUND for a reader this node does not trust.
 */
export function readerKeys(parts: TransferParts, readers: readonly string[] | undefined): ReaderKey[] {
  const pinned = parts.trust.list();
  const wanted = readers ?? [...new Set(pinned.map((p) => p.nodeUuid))];
  return wanted.flatMap((node) => {
    if (node === parts.nodeUuid) return []; // the uploader's own key is always added
    const keys = pinned.filter((p) => p.nodeUuid === node);
    if (keys.length === 0) {
      throw new ArozError(
        'ERR_PEER_NOT_FOUND',
        `Cannot make node "${node}" a reader: it is not a trusted node here`,
      );
    }
    return keys.map((p) => ({ node, fingerprint: p.fingerprint, publicKey: p.publicKey }));
  });
}

/** This node's key pairs that have their private key: what opens a file key wrapped for this node. */
export async function ownKeyPairs(home: NodeHome): Promise<KeyPair[]> {
  const active = await home.activeKeyPair();
  const others = (await home.keys.list()).filter((k) => k.hasPrivateKey && k.keyUuid !== active.keyUuid);
  return [active, ...(await Promise.all(others.map((k) => home.keys.load(k.keyUuid))))];
}

/** Copies of every chunk when the upload does not say (as uploadFile). */
export const DEFAULT_COPIES = 2;

/**
 * ERR_PLACEMENT when the cluster list has fewer nodes than copies, saying what to do about it: pair
 * (or start) another node, or store fewer copies. (uploadFile checks the same, without the advice.)
 */
export function checkEnoughNodes(
  parts: TransferParts,
  nodes: readonly string[],
  copies: number,
  listed: boolean,
): void {
  const n = nodes.length;
  if (n >= copies || !Number.isSafeInteger(copies)) return;
  const what = `Cannot place ${copies} copies on ${n} node${n === 1 ? '' : 's'}: each copy needs its own node`;
  const fewer = n >= 1 ? `, or store ${n} cop${n === 1 ? 'y' : 'ies'} (--copies ${n})` : '';
  const peers = parts.trust.list().length;
  let advice: string;
  if (listed) advice = `list more nodes in --nodes${fewer}`;
  else if (peers === 0) {
    advice = `this node is not paired with any other yet: pair another node ("arozdfs keys show" on one, "arozdfs peers add -" on the other, both ways) and start it${fewer}`;
  } else {
    const answered = nodes.filter((node) => node !== parts.nodeUuid).length;
    advice = `${answered} of the ${peers} paired node${peers === 1 ? '' : 's'} answered with an online store: start the others, or pair another node${fewer}`;
  }
  throw new ArozError('ERR_PLACEMENT', `${what}; ${advice}`);
}

export function downloadRunner(parts: TransferParts) {
  return async (params: DownloadParams, ctx: JobContext): Promise<DownloadResult> => {
    const { out, idleMs } = params;
    const journal = new FileDownloadJournal(join(ctx.workDir, 'download.journal'));
    try {
      const index = newest(parts, await jobIndex(parts, params, ctx.signal));
      const result = await downloadFile(index, {
        ...(isSealed(index) ? { reader: { node: parts.nodeUuid, keys: await ownKeyPairs(parts.home) } } : {}),
        out,
        force: params.force,
        allowUntrusted: params.allowUntrusted,
        trusted: await readSigners(parts.home, parts.trust, parts.catalog.store, index),
        connect: connector(parts, idleMs),
        onlineNodes: () => [parts.nodeUuid, ...parts.trust.list().map((p) => p.nodeUuid)],
        // Copies made since the index was signed (repair) are in the catalog's holdings statements.
        holdersOf: (chunk) => parts.catalog.store.holdersOf(chunk),
        ...(idleMs !== undefined ? { idleMs } : {}),
        journal,
        signal: ctx.signal,
        onProgress: (p) => ctx.onProgress(p),
      });
      return {
        out: result.out,
        size: index.file.size,
        sha256: index.file.sha256,
        chunks: index.chunks.length,
        fetched: result.fetched,
        signer: result.signer?.owner ?? null,
        problems: result.problems,
      };
    } catch (err) {
      // A download that failed or was cancelled leaves no partial file; one cut by shutdown resumes.
      if (!parts.closing()) {
        await journal.remove().catch((e: unknown) => {
          if (isProgrammingError(e)) throw e;
        });
      }
      throw err;
    } finally {
      await journal.close();
    }
  };
}

/** The index a download names: an index file, or a file id of the catalog. */
async function jobIndex(
  parts: TransferParts,
  params: DownloadParams,
  signal: AbortSignal,
): Promise<IndexFile> {
  if (params.index !== undefined) return await readIndexFile(params.index, { signal });
  const id = params.file ?? '';
  const index = parts.catalog.store.indexOf(id);
  if (index === undefined) throw new ArozError('ERR_NOT_FOUND', `No file "${id}" in the catalog`);
  return index;
}

/**
 * The newest revision the catalog holds of the same file (same id, same uploader), else `index`:
 * an older index file still finds the copies where they are now (docs/catalog.md).
 */
export function newest(parts: TransferParts, index: IndexFile): IndexFile {
  const held = parts.catalog.store.indexOf(index.id);
  if (held === undefined || held.createdBy !== index.createdBy) return index;
  return (held.revision ?? 0) > (index.revision ?? 0) ? held : index;
}
