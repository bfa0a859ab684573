/**
 * The one implementation of NodeOps (src/ops/types.ts): what a node can be asked to do, over the
 * narrow parts it needs. The control socket and the web UI call these methods and add no policy.
 * Here: status, keys, jobs, this node's files and check; assembled with the peers and cluster parts
 * (ops-peers.ts), the catalog's (ops-catalog.ts) and the web UI's live parts (ops-live.ts).
 */
import { rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CHECK_TIMEOUT_MS, checkIndex } from '../check/index.ts';
import { ensureDir } from '../durable/index.ts';
import { ArozError } from '../errors.ts';
import type { AuditSource } from '../home/audit.ts';
import type { NodeHome } from '../home/open.ts';
import { downloadPath, keptIndexPath } from '../home/paths.ts';
import { type IndexFile, readIndexFile } from '../index-file/index.ts';
import type { JobManager } from '../jobs/manager.ts';
import { formatPairing } from '../keys/pairing.ts';
import { GENERATE_RSA_BITS, type KeyPair, publicKeyPem } from '../keys/rsa.ts';
import type { TrustStore } from '../keys/trust-store.ts';
import { isJobKind, JOB_KIND_LIST, listedJob } from '../ops/jobs.ts';
import type { NodeMetrics } from '../ops/metrics.ts';
import type { CheckOptions, ClusterFile, KeptFile, LabelledCheckReport, NodeOps } from '../ops/types.ts';
import type { NodeInfo } from '../transport/node-info.ts';
import type { PeerAddress } from '../transport/pool.ts';
import { assertUuid, isUuid } from '../uuid.ts';
import type { CatalogService } from './catalog-service.ts';
import type { ClusterServices } from './cluster-services.ts';
import { type ConnectParts, connector, verifier } from './connect.ts';
import { catalogOps } from './ops-catalog.ts';
import { type LiveParts, liveOps } from './ops-live.ts';
import { peerOps } from './ops-peers.ts';
import { readSigners } from './read-trust.ts';

/** The parts NodeOps works through; the daemon's own state comes as functions. */
export interface OpsParts extends ConnectParts {
  home: NodeHome;
  catalog: Pick<CatalogService, 'store' | 'remove' | 'on'>;
  trust: TrustStore;
  jobs: JobManager;
  cluster: Pick<
    ClusterServices,
    'book' | 'discovery' | 'instance' | 'fingerprint' | 'duplicates' | 'resolve'
  >;
  staticPeers: ReadonlyMap<string, PeerAddress>;
  info(): Promise<NodeInfo>;
  metrics(): Promise<NodeMetrics>;
  /** The bound cluster address; only asked once the node is ready. */
  listenAddress(): string;
  ready(): boolean;
  activateKey(keyUuid: string, from: AuditSource): Promise<{ pair: KeyPair; previous: string }>;
  /** Pairing hints and static addresses (ops-live.ts). */
  live: Omit<LiveParts, keyof ConnectParts | 'home' | 'trust' | 'jobs' | 'catalog' | 'cluster'>;
}

export function createNodeOps(parts: OpsParts): NodeOps {
  const { home, trust, jobs } = parts;
  const nodeUuid = parts.nodeUuid;
  const label = (node: string) => (node === nodeUuid ? home.config.name : (trust.get(node)?.label ?? null));

  /** The catalog's newest index of file `id`, else the one this node kept (an upload it made). */
  const keptIndex = async (id: string, signal: AbortSignal): Promise<IndexFile> => {
    const held = isUuid(id) ? parts.catalog.store.indexOf(id) : undefined;
    if (held !== undefined) return held;
    try {
      return await readIndexFile(keptIndexPath(home.paths, assertUuid(id, 'The file id')), { signal });
    } catch (err) {
      if (err instanceof ArozError && err.code === 'ERR_FILE_NOT_FOUND') {
        throw new ArozError('ERR_NOT_FOUND', `No file with the id "${id}" is in the catalog`);
      }
      throw err;
    }
  };
  const downloadOf = (index: IndexFile) => downloadPath(home.paths, index.id, index.file.name);
  const isDownloaded = async (index: IndexFile): Promise<boolean> => {
    try {
      const info = await stat(downloadOf(index));
      return info.isFile() && info.size === index.file.size;
    } catch {
      return false;
    }
  };

  /** Every node that holds a chunk of `index`: as the index says, and as the catalog knows now. */
  const holders = (index: IndexFile): string[] => [
    ...new Set(
      index.chunks.flatMap((c) => [
        ...(c.holders ?? []).map((h) => h.node),
        ...parts.catalog.store.holdersOf(c.uuid),
      ]),
    ),
  ];

  /** The last check's verdict per file id (this run of the daemon). */
  const health = new Map<string, ClusterFile['health']>();
  const check = async (index: IndexFile, options: CheckOptions): Promise<LabelledCheckReport> => {
    // The newest revision the catalog knows of the same file finds the copies where they are now.
    const held = parts.catalog.store.indexOf(index.id);
    if (
      held !== undefined &&
      held.createdBy === index.createdBy &&
      (held.revision ?? 0) > (index.revision ?? 0)
    )
      index = held;
    const report = await checkIndex(index, {
      deep: options.deep === true,
      trusted: await readSigners(home, trust, parts.catalog.store, index),
      connect: connector(parts, CHECK_TIMEOUT_MS),
      verify: verifier(parts, CHECK_TIMEOUT_MS),
      holdersOf: (chunk) => parts.catalog.store.holdersOf(chunk),
      signal: options.signal,
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    });
    const { lost, unknown, mismatch, degraded } = report.summary;
    health.set(
      index.id,
      lost > 0 ? 'lost' : unknown > 0 || mismatch > 0 ? 'unknown' : degraded > 0 ? 'degraded' : 'healthy',
    );
    return { ...report, nodes: holders(index).map((node) => ({ node, label: label(node) })) };
  };

  const peer = peerOps(parts);
  const live = liveOps(
    { ...parts, ...parts.live },
    () => peer.cluster.discover(),
    (id, signal) => keptIndex(id, signal),
  );
  const ops: NodeOps = {
    nodeUuid,
    events: live.events,
    name: () => home.config.name,
    info: () => parts.info(),
    metrics: () => parts.metrics(),
    listenAddress: () => parts.listenAddress(),
    status: async () => ({
      ...(await parts.info()),
      // While starting, the control socket answers before the cluster port listens.
      listen: parts.ready() ? parts.listenAddress() : null,
      peers: trust.list().length,
      ready: parts.ready(),
    }),
    audit: (action, from, client) =>
      home.audit({ action, fingerprint: null, from, ...(client !== undefined ? { client } : {}) }),

    peers: { ...peer.peers, ...live.peers },

    keys: {
      host: async () => {
        const pair = await home.activeKeyPair();
        const { name } = home.config;
        return {
          name,
          nodeUuid,
          keyUuid: pair.keyUuid,
          bits: pair.bits,
          fingerprint: pair.fingerprint,
          pairing: formatPairing(nodeUuid, pair, name),
          pem: publicKeyPem(pair),
        };
      },
      list: async () => {
        const active = home.config.activeKey;
        return (await home.keys.list()).map((k) => ({
          keyUuid: k.keyUuid,
          bits: k.bits,
          fingerprint: k.fingerprint,
          createdAt: k.createdAt,
          active: k.keyUuid === active,
          hasPrivateKey: k.hasPrivateKey,
        }));
      },
      generate: async (bits, from, signal) => {
        if (!GENERATE_RSA_BITS.includes(bits as (typeof GENERATE_RSA_BITS)[number])) {
          throw new ArozError(
            'ERR_BAD_REQUEST',
            `The key size must be one of ${GENERATE_RSA_BITS.join(', ')} bits`,
          );
        }
        const pair = await home.generateKey(bits as number, from, { signal });
        return { keyUuid: pair.keyUuid, bits: pair.bits, fingerprint: pair.fingerprint, active: false };
      },
      activate: async (key, from, authorize) => {
        const keyUuid = assertUuid(key, 'The key UUID');
        await authorize?.();
        const { pair, previous } = await parts.activateKey(keyUuid, from);
        return {
          keyUuid,
          fingerprint: pair.fingerprint,
          previousKey: previous,
          changed: previous !== keyUuid,
        };
      },
    },

    jobs: {
      submit: async (kind, params) => {
        if (!isJobKind(kind) || typeof params !== 'object' || params === null) {
          throw new ArozError('ERR_BAD_REQUEST', `A job needs a "kind" (${JOB_KIND_LIST}) and "params"`);
        }
        return await jobs.submit(kind, params as Record<string, unknown>);
      },
      list: () => jobs.list().map(listedJob),
      get: (id) => jobs.get(id),
      cancel: (id) => jobs.cancel(id),
      wait: (id, options) => jobs.wait(id, options),
    },

    files: {
      list: async () => {
        const files: KeptFile[] = [];
        for (const f of parts.catalog.store.files()) {
          const index = parts.catalog.store.indexOf(f.id);
          if (index === undefined) continue;
          files.push({
            id: f.id,
            name: f.name,
            uploader: f.uploader,
            uploaderName: label(f.uploader),
            mine: f.uploader === nodeUuid,
            size: f.size,
            sha256: f.sha256,
            chunks: f.chunks,
            copies: f.copies,
            shift: index.shift ?? null,
            createdAt: f.uploadedAt,
            nodes: holders(index).map((node) => ({ nodeUuid: node, label: label(node) })),
            downloaded: await isDownloaded(index),
          });
        }
        files.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
        return files;
      },
      index: keptIndex,
      downloadPath: downloadOf,
      isDownloaded,
      download: async (id, signal) => {
        const index = await keptIndex(id, signal);
        await ensureDir(dirname(downloadOf(index)), 0o700);
        const inCatalog = parts.catalog.store.indexOf(index.id) !== undefined;
        return await jobs.submit('download', {
          ...(inCatalog ? { file: index.id } : { index: keptIndexPath(home.paths, index.id) }),
          out: downloadOf(index),
          force: true,
          name: index.file.name,
        });
      },
      removeDownload: async (id, signal) => {
        const index = await keptIndex(id, signal);
        await rm(dirname(downloadOf(index)), { recursive: true, force: true });
        return { id: index.id, downloaded: false };
      },
      uploadsDir: () => home.paths.uploads,
      ...live.files,
    },

    catalog: catalogOps({ ...parts, label, health }),

    check: {
      path: async (path, options) => {
        if (typeof path !== 'string' || !path.startsWith('/')) {
          throw new ArozError('ERR_BAD_REQUEST', 'The index must be an absolute path');
        }
        return await check(await readIndexFile(path, { signal: options.signal }), options);
      },
      file: async (id, options) => check(await keptIndex(id, options.signal), options),
    },

    cluster: peer.cluster,
  };
  return ops;
}
