/**
 * The daemon's upload and download jobs: they wire the transfer engines to this node's stores, its
 * peers (through the peer pool, at their current addresses) and its keys. Parameters arrive from
 * the CLI over the control socket and are checked again here: paths absolute, UUIDs canonical,
 * every node in a cluster list trusted.
 */
import { join } from 'node:path';
import { checkOutput } from '../chunk/merge.ts';
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError } from '../errors.ts';
import { encodeIndex, readIndexFile } from '../index-file/index.ts';
import type { JobContext, JobRunner } from '../jobs/types.ts';
import { defaultClusterList } from '../placement/index.ts';
import type { ChunkStore } from '../store/types.ts';
import { downloadFile, FileDownloadJournal, FileUploadJournal, uploadFile } from '../transfer/index.ts';
import { RemoteStore } from '../transport/remote-store.ts';
import { assertUuid } from '../uuid.ts';
import type { Daemon } from './daemon.ts';

/** How long the default cluster list waits for each peer to answer before leaving it out. */
const PROBE_MS = 3_000;

export interface UploadParams {
  file: string;
  chunkSize?: number;
  shift?: number;
  copies?: number;
  nodes?: string[];
  /** Where to write a copy of the index (the daemon always keeps one in <home>/indexes/). */
  index?: string;
  force?: boolean;
}

export interface DownloadParams {
  index: string;
  out: string;
  force?: boolean;
  allowUntrusted?: boolean;
}

function absolute(value: unknown, what: string): string {
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw new ArozError('ERR_BAD_REQUEST', `${what} must be an absolute path`);
  }
  return value;
}

function optionalInt(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw new ArozError('ERR_BAD_REQUEST', `${what} must be a whole number`);
  return value;
}

/** Connects to a node's chunks: this node's own stores, or a peer over the pinned transport. */
function connector(daemon: Daemon) {
  return async (nodeUuid: string, signal: AbortSignal): Promise<ChunkStore> => {
    if (nodeUuid === daemon.nodeUuid) return daemon.stores;
    if (daemon.trust.get(nodeUuid) === undefined) {
      throw new ArozError('ERR_PEER_NOT_FOUND', `Node "${nodeUuid}" is not a trusted peer of this node`);
    }
    const session = await daemon.pool.session(nodeUuid, { signal });
    return new RemoteStore(session, nodeUuid, { self: daemon.nodeUuid });
  };
}

/** Every trusted peer that answers now, plus this node when it has an online store. */
async function onlineNodes(daemon: Daemon, signal: AbortSignal): Promise<string[]> {
  const probes = daemon.trust.list().map(async (peer) => {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(PROBE_MS)]);
    try {
      await daemon.pool.session(peer.nodeUuid, { signal: timeout });
      return peer.nodeUuid;
    } catch (err) {
      if (!(err instanceof ArozError)) throw err;
      return undefined;
    }
  });
  const peers = (await Promise.all(probes)).filter((u): u is string => u !== undefined);
  const self = (await daemon.stores.status()).online ? [daemon.nodeUuid] : [];
  return [...self, ...peers];
}

export function uploadRunner(daemon: Daemon): JobRunner {
  return async (raw, ctx: JobContext) => {
    const file = absolute(raw['file'], 'The file');
    const indexOut = raw['index'] === undefined ? undefined : absolute(raw['index'], 'The index path');
    const force = raw['force'] === true;
    if (indexOut !== undefined && !ctx.resumed) await checkOutput(indexOut, force, 'Cannot write the index');
    let nodes: string[];
    if (Array.isArray(raw['nodes'])) {
      nodes = raw['nodes'].map((n) => assertUuid(n, 'A node in --nodes'));
      for (const node of nodes) {
        if (node !== daemon.nodeUuid && daemon.trust.get(node) === undefined) {
          throw new ArozError(
            'ERR_PLACEMENT',
            `Node "${node}" in --nodes is not this node nor a trusted peer`,
          );
        }
      }
    } else {
      nodes = defaultClusterList(await onlineNodes(daemon, ctx.signal));
    }
    const journal = new FileUploadJournal(join(ctx.workDir, 'upload.journal'));
    try {
      const chunkSize = optionalInt(raw['chunkSize'], 'The chunk size');
      const shift = optionalInt(raw['shift'], 'The shift');
      const copies = optionalInt(raw['copies'], 'The number of copies');
      const index = await uploadFile(file, {
        nodes,
        ...(chunkSize !== undefined ? { chunkSize } : {}),
        ...(shift !== undefined ? { shift } : {}),
        ...(copies !== undefined ? { copies } : {}),
        self: { nodeUuid: daemon.nodeUuid, keyPair: await daemon.home.activeKeyPair() },
        connect: connector(daemon),
        journal,
        signal: ctx.signal,
        onProgress: (p) => ctx.onProgress(p),
      });
      const text = encodeIndex(index);
      const kept = join(daemon.home.paths.home, 'indexes', `${index.id}.json`);
      await daemon.keepIndex(kept, text);
      if (indexOut !== undefined) await writeFileAtomic(indexOut, text, { overwrite: force });
      return {
        index: indexOut ?? kept,
        kept,
        id: index.id,
        file: index.file,
        chunks: index.chunks.length,
        copies: index.redundancy.copies,
        cluster: index.cluster ?? [],
        placement: index.chunks.map((c) => ({
          i: c.i,
          uuid: c.uuid,
          holders: (c.holders ?? []).map((h) => h.node),
        })),
      };
    } finally {
      await journal.close();
    }
  };
}

export function downloadRunner(daemon: Daemon): JobRunner {
  return async (raw, ctx: JobContext) => {
    const indexPath = absolute(raw['index'], 'The index path');
    const out = absolute(raw['out'], 'The output path');
    const index = await readIndexFile(indexPath, { signal: ctx.signal });
    const journal = new FileDownloadJournal(join(ctx.workDir, 'download.journal'));
    try {
      const result = await downloadFile(index, {
        out,
        force: raw['force'] === true,
        allowUntrusted: raw['allowUntrusted'] === true,
        trusted: await daemon.home.indexSigners(daemon.trust),
        connect: connector(daemon),
        onlineNodes: () => [daemon.nodeUuid, ...daemon.trust.list().map((p) => p.nodeUuid)],
        journal,
        signal: ctx.signal,
        onProgress: (p) => ctx.onProgress(p),
      });
      return {
        out: result.out,
        size: index.file.size,
        sha256: index.file.sha256,
        signer: result.signer?.owner ?? null,
        problems: result.problems,
      };
    } catch (err) {
      // A download that failed or was cancelled leaves no partial file; one cut by shutdown resumes.
      if (!daemon.closing) await journal.remove().catch(() => {});
      throw err;
    } finally {
      await journal.close();
    }
  };
}
