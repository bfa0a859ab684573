/**
 * The one implementation of NodeOps (src/ops/types.ts): what a node can be asked to do, over the
 * narrow parts it needs. The control socket and the web UI call these methods and add no policy.
 */
import { rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CatalogFile } from '../catalog/index.ts';
import { CHECK_TIMEOUT_MS, checkIndex } from '../check/index.ts';
import { classify } from '../cluster/index.ts';
import { ensureDir } from '../durable/index.ts';
import { ArozError } from '../errors.ts';
import type { AuditSource } from '../home/audit.ts';
import type { NodeHome } from '../home/open.ts';
import { downloadPath, keptIndexPath } from '../home/paths.ts';
import { filePathProblem, type IndexFile, readIndexFile } from '../index-file/index.ts';
import type { JobManager } from '../jobs/manager.ts';
import { sanitizeLabel } from '../keys/label.ts';
import { formatPairing, parsePastedPeer } from '../keys/pairing.ts';
import { GENERATE_RSA_BITS, type KeyPair, publicKeyPem } from '../keys/rsa.ts';
import type { PinnedPeer, TrustStore } from '../keys/trust-store.ts';
import { isJobKind, JOB_KIND_LIST, listedJob } from '../ops/jobs.ts';
import type { NodeMetrics } from '../ops/metrics.ts';
import type {
  CheckOptions,
  ClusterFile,
  Discovered,
  FolderRemoval,
  KeptFile,
  LabelledCheckReport,
  Location,
  NodeOps,
  PeerView,
  ProbedPeer,
} from '../ops/types.ts';
import { nodeFree } from '../store/space.ts';
import { getJson } from '../transport/client.ts';
import { type NodeInfo, parseNodeInfo } from '../transport/node-info.ts';
import type { PeerAddress } from '../transport/pool.ts';
import { assertUuid, isUuid } from '../uuid.ts';
import type { CatalogService } from './catalog-service.ts';
import type { ClusterServices } from './cluster-services.ts';
import { type ConnectParts, connector, verifier } from './connect.ts';
import { formatHostPort } from './host-port.ts';
import { type LiveParts, liveOps } from './ops-live.ts';
import { readSigners } from './read-trust.ts';

const PROBE_TIMEOUT_MS = 3_000;
const RESOLVE_TIMEOUT_MS = 10_000;

/** The parts NodeOps works through; the daemon's own state comes as functions. */
export interface OpsParts extends ConnectParts {
  home: NodeHome;
  catalog: Pick<CatalogService, 'store' | 'remove'>;
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

function peerView(peer: PinnedPeer): PeerView {
  return {
    nodeUuid: peer.nodeUuid,
    label: peer.label,
    bits: peer.bits,
    fingerprint: peer.fingerprint,
    addedAt: peer.addedAt ?? null,
  };
}

function pairingText(value: unknown): string {
  if (typeof value !== 'string') throw new ArozError('ERR_BAD_REQUEST', 'A "pairing" string is needed');
  return value;
}

export function createNodeOps(parts: OpsParts): NodeOps {
  const { home, trust, jobs, cluster } = parts;
  const nodeUuid = parts.nodeUuid;
  const label = (node: string) => (node === nodeUuid ? home.config.name : (trust.get(node)?.label ?? null));

  const located = (node: string): Location => {
    const found = cluster.book.resolve(node);
    const best = found?.addresses[0];
    const fixed = parts.staticPeers.get(node);
    return {
      address: best !== undefined ? formatHostPort(best) : fixed !== undefined ? formatHostPort(fixed) : null,
      source: best?.source ?? (fixed !== undefined ? 'static' : null),
      lastSeen: found?.lastSeen === undefined ? null : new Date(found.lastSeen).toISOString(),
    };
  };

  /** Whether a pinned handshake to a peer works right now, and what it says about itself. */
  const probe = async (peer: PinnedPeer, signal: AbortSignal): Promise<ProbedPeer> => {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]);
    try {
      const session = await parts.pool.session(peer.nodeUuid, { signal: timeout });
      // Checked before it is read: figures that are not byte counts make the peer's row an error.
      const info = parseNodeInfo(
        await getJson(session, '/v1/node', peer.nodeUuid, { signal: timeout }),
        peer.nodeUuid,
      );
      cluster.book.markSeen(peer.nodeUuid);
      const online = info.stores.filter((s) => s.online);
      return {
        ...peerView(peer),
        ...located(peer.nodeUuid),
        state: 'online',
        // What a peer says about itself is cleaned like any label (no control, bidi or format characters).
        name: typeof info.name === 'string' ? sanitizeLabel(info.name) : null,
        version: typeof info.version === 'string' ? sanitizeLabel(info.version) : null,
        // Each filesystem once: two stores on one disk do not offer its free space twice.
        free: nodeFree(online),
        // Deleted chunks it keeps until its grace period ends (they still count as used).
        trash: {
          chunks: online.reduce((n, s) => n + s.trash.chunks, 0),
          bytes: online.reduce((n, s) => n + s.trash.bytes, 0),
        },
        stores: info.stores.map((s) => ({ online: s.online, free: s.free, capacity: s.capacity })),
        // Its scrub: corrupt copies found, what its quarantine holds, its last full pass (older nodes: null).
        scrub: info.scrub ?? null,
        // Its last repair pass's orphans: collected, and kept for a person (removed uploaders').
        orphans: info.orphans ?? null,
      };
    } catch (err) {
      if (!(err instanceof ArozError)) throw err;
      const where = located(peer.nodeUuid);
      return {
        ...peerView(peer),
        ...where,
        state: where.address === null ? 'unknown' : 'offline',
        error: `${err.message} (${err.code})`,
        code: err.code,
        reason: err.reason ?? null,
      };
    }
  };

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

  /** The last check's verdict per file id (this run of the daemon). */
  const health = new Map<string, ClusterFile['health']>();
  const clusterFile = (f: CatalogFile): ClusterFile => ({
    id: f.id,
    name: f.name,
    size: f.size,
    sha256: f.sha256,
    uploader: f.uploader,
    uploaderName: label(f.uploader),
    uploadedAt: f.uploadedAt,
    revision: f.revision,
    copies: f.copies,
    chunks: f.chunks,
    redundancy: f.ec ?? String(f.copies),
    encrypted: f.encrypted === true,
    mine: f.uploader === nodeUuid,
    health: health.get(f.id) ?? null,
  });
  /** A file id, else a name: exactly one file of the catalog. */
  const findFile = (ref: unknown): CatalogFile => {
    if (typeof ref !== 'string' || ref === '' || ref.length > 4096)
      throw new ArozError('ERR_BAD_REQUEST', 'A file name or id is needed');
    const store = parts.catalog.store;
    if (isUuid(ref)) {
      const byId = store.getFile(ref);
      if (byId !== undefined) return byId;
    }
    const named = store.findByName(ref);
    if (named.length === 1) return named[0]!;
    if (named.length > 1) {
      throw new ArozError(
        'ERR_NAME_AMBIGUOUS',
        `${named.length} files are named "${ref}": give one of their ids: ${named.map((f) => `${f.id} (uploaded ${f.uploadedAt})`).join(', ')}`,
      );
    }
    const deleted = isUuid(ref) ? store.tombstoneOf(ref) : undefined;
    throw new ArozError(
      'ERR_NOT_FOUND',
      deleted !== undefined
        ? `File "${ref}" was deleted at ${deleted.deletedAt}`
        : `No file named "${ref}" (or with that id) is in the catalog`,
    );
  };

  /** A folder path as asked: no leading or trailing "/"; '' is the top. */
  const folderPath = (value: unknown): string => {
    if (typeof value !== 'string' || value.length > 4096)
      throw new ArozError('ERR_BAD_REQUEST', 'A folder path is needed');
    const path = value.replace(/^\/+|\/+$/g, '');
    const problem = path === '' ? undefined : filePathProblem(path);
    if (problem !== undefined) throw new ArozError('ERR_BAD_REQUEST', `The folder path "${path}" ${problem}`);
    return path;
  };
  /** The catalog's files under folder `path` (every file for the top), by name. */
  const filesUnder = (path: string): CatalogFile[] => {
    const prefix = path === '' ? '' : `${path}/`;
    return [...parts.catalog.store.files()].filter((f) => f.name.startsWith(prefix));
  };
  const noFolder = (path: string) =>
    new ArozError('ERR_NOT_FOUND', `No file named "${path}" and no folder "${path}/" is in the catalog`);

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
    const nodes = [
      ...new Set(
        index.chunks.flatMap((c) => [
          ...(c.holders ?? []).map((h) => h.node),
          ...parts.catalog.store.holdersOf(c.uuid),
        ]),
      ),
    ];
    return { ...report, nodes: nodes.map((node) => ({ node, label: label(node) })) };
  };

  const live = liveOps(
    { ...parts, ...parts.live },
    () => ops.cluster.discover(),
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

    peers: {
      list: () => trust.list().map(peerView),
      preview: (pairing) => {
        const pasted = parsePastedPeer(pairingText(pairing));
        if (pasted.nodeUuid === nodeUuid) {
          throw new ArozError('ERR_PEER_SELF', 'This is the pairing string of this very node');
        }
        const pinned = trust.get(pasted.nodeUuid);
        return {
          nodeUuid: pasted.nodeUuid,
          label: pasted.label,
          bits: pasted.key.bits,
          fingerprint: pasted.key.fingerprint,
          trusted:
            pinned === undefined
              ? 'no'
              : pinned.fingerprint === pasted.key.fingerprint
                ? 'same'
                : 'other-key',
        };
      },
      add: async (pairing, from, authorize) => {
        const pasted = parsePastedPeer(pairingText(pairing));
        await authorize?.();
        const { peer, added } = await home.addPeer(trust, pasted, from);
        return { ...peerView(peer), added };
      },
      remove: async (node, from, authorize, options) => {
        const uuid = assertUuid(node, 'The node UUID');
        await authorize?.();
        const removed = await home.removePeer(uuid, from, trust, {
          compromised: options?.compromised === true,
        });
        return { nodeUuid: uuid, label: removed.label, fingerprint: removed.fingerprint ?? null };
      },
      probe: (signal) => Promise.all(trust.list().map((peer) => probe(peer, signal))),
      onRemoved: (listener) => trust.on('removed', (peer) => listener(peer.nodeUuid)),
      ...live.peers,
    },

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
          const nodes = [
            ...new Set(
              index.chunks.flatMap((c) => [
                ...(c.holders ?? []).map((h) => h.node),
                ...parts.catalog.store.holdersOf(c.uuid),
              ]),
            ),
          ];
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
            nodes: nodes.map((node) => ({ nodeUuid: node, label: label(node) })),
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

    catalog: {
      list: () => [...parts.catalog.store.files()].map(clusterFile),
      find: (ref) => clusterFile(findFile(ref)),
      folder: (value) => {
        const path = folderPath(value);
        const prefix = path === '' ? '' : `${path}/`;
        const files: ClusterFile[] = [];
        const folders = new Map<string, { name: string; path: string; files: number; bytes: number }>();
        const under = filesUnder(path);
        if (under.length === 0 && path !== '') throw noFolder(path);
        for (const f of under) {
          const rest = f.name.slice(prefix.length);
          const slash = rest.indexOf('/');
          if (slash === -1) {
            files.push(clusterFile(f));
            continue;
          }
          const name = rest.slice(0, slash);
          const folder = folders.get(name) ?? { name, path: `${prefix}${name}`, files: 0, bytes: 0 };
          folder.files++;
          folder.bytes += f.size;
          folders.set(name, folder);
        }
        return { path, folders: [...folders.values()], files };
      },
      under: (value) => {
        const path = folderPath(value);
        const under = filesUnder(path);
        if (under.length === 0 && path !== '') throw noFolder(path);
        return under.map(clusterFile);
      },
      removeFolder: async (value, from, authorize) => {
        const path = folderPath(value);
        if (path === '') throw new ArozError('ERR_BAD_REQUEST', 'A folder to delete is needed');
        const under = filesUnder(path);
        if (under.length === 0) throw noFolder(path);
        await authorize?.();
        const removed: FolderRemoval['removed'] = [];
        const refused: FolderRemoval['refused'] = [];
        for (const file of under) {
          if (file.uploader !== nodeUuid) {
            refused.push({
              id: file.id,
              name: file.name,
              code: 'ERR_NOT_UPLOADER',
              message: `"${file.name}" was uploaded by node ${file.uploader}: only that node may delete it`,
            });
            continue;
          }
          try {
            const tombstone = await parts.catalog.remove(file.id);
            await rm(keptIndexPath(home.paths, file.id), { force: true });
            await home.audit({ action: 'file-delete', fileId: file.id, fingerprint: null, from });
            removed.push({ id: file.id, name: file.name, deletedAt: tombstone.deletedAt });
          } catch (err) {
            if (!(err instanceof ArozError)) throw err;
            refused.push({ id: file.id, name: file.name, code: err.code, message: err.message });
          }
        }
        return { path, removed, refused };
      },
      index: (ref) => {
        const file = findFile(ref);
        const index = parts.catalog.store.indexOf(file.id);
        if (index === undefined) throw new ArozError('ERR_NOT_FOUND', `File "${file.id}" has no index here`);
        return index;
      },
      remove: async (ref, from, authorize) => {
        const file = findFile(ref);
        if (file.uploader !== nodeUuid) {
          const who = label(file.uploader);
          throw new ArozError(
            'ERR_NOT_UPLOADER',
            `"${file.name}" was uploaded by node ${who === null ? '' : `"${who}" `}(${file.uploader}): only that node may delete it`,
          );
        }
        await authorize?.();
        const tombstone = await parts.catalog.remove(file.id);
        // The kept copy of its index goes too: a start never enters a deleted file again.
        await rm(keptIndexPath(home.paths, file.id), { force: true });
        await home.audit({ action: 'file-delete', fileId: file.id, fingerprint: null, from });
        return { id: file.id, name: file.name, deletedAt: tombstone.deletedAt };
      },
    },

    check: {
      path: async (path, options) => {
        if (typeof path !== 'string' || !path.startsWith('/')) {
          throw new ArozError('ERR_BAD_REQUEST', 'The index must be an absolute path');
        }
        return await check(await readIndexFile(path, { signal: options.signal }), options);
      },
      file: async (id, options) => check(await keptIndex(id, options.signal), options),
    },

    cluster: {
      discover: (): Discovered => {
        const discovery = cluster.discovery;
        if (discovery === undefined) return { enabled: false, nodes: [], duplicates: [] };
        const self = { uuid: nodeUuid, instance: cluster.instance, fingerprint: cluster.fingerprint };
        return {
          enabled: true,
          nodes: discovery.visible().map((v) => ({
            nodeUuid: v.uuid,
            name: v.name,
            address: formatHostPort({ host: v.host, port: v.port }),
            fingerprintShort: v.fingerprintShort,
            instance: v.instance,
            trust: classify(v, { self, trust }),
            seenAt: new Date(v.seenAt).toISOString(),
          })),
          duplicates: cluster.duplicates.map((a) => ({ address: formatHostPort(a), instance: a.instance })),
        };
      },
      resolve: async (node, signal) => {
        const uuid = assertUuid(node, 'The node UUID');
        const found = await cluster.resolve(
          uuid,
          AbortSignal.any([signal, AbortSignal.timeout(RESOLVE_TIMEOUT_MS)]),
        );
        const best = found?.addresses.find((a) => a.verified) ?? found?.addresses[0];
        if (found === undefined || best === undefined || found.state !== 'online') {
          throw new ArozError('ERR_PEER_UNREACHABLE', `No live address of node "${uuid}" is known right now`);
        }
        return {
          nodeUuid: uuid,
          address: formatHostPort(best),
          source: best.source,
          verified: best.verified,
          state: found.state,
          lastSeen: found.lastSeen === undefined ? null : new Date(found.lastSeen).toISOString(),
          seq: found.record?.seq ?? null,
        };
      },
    },
  };
  return ops;
}
