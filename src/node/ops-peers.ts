/**
 * The peers and cluster parts of NodeOps (src/ops/types.ts): the trust store as people see it (list,
 * preview a pairing string, add, remove), a live probe of every trusted peer, and where the cluster
 * says nodes are (discovery, resolve). Same rules as ops.ts: policy here, surfaces only adapt.
 */
import { classify } from '../cluster/index.ts';
import { ArozError } from '../errors.ts';
import type { NodeHome } from '../home/open.ts';
import { sanitizeLabel } from '../keys/label.ts';
import { parsePastedPeer } from '../keys/pairing.ts';
import type { PinnedPeer, TrustStore } from '../keys/trust-store.ts';
import type { Discovered, Location, NodeOps, ProbedPeer } from '../ops/types.ts';
import { nodeFree } from '../store/space.ts';
import { getJson } from '../transport/client.ts';
import { parseNodeInfo } from '../transport/node-info.ts';
import type { PeerAddress, PeerPool } from '../transport/pool.ts';
import { assertUuid } from '../uuid.ts';
import type { ClusterServices } from './cluster-services.ts';
import { formatHostPort } from './host-port.ts';
import { peerView } from './peer-view.ts';

const PROBE_TIMEOUT_MS = 3_000;
const RESOLVE_TIMEOUT_MS = 10_000;

/** What the peer and cluster operations work through. */
export interface PeerOpsParts {
  nodeUuid: string;
  home: NodeHome;
  trust: TrustStore;
  pool: Pick<PeerPool, 'session'>;
  cluster: Pick<
    ClusterServices,
    'book' | 'discovery' | 'instance' | 'fingerprint' | 'duplicates' | 'resolve'
  >;
  staticPeers: ReadonlyMap<string, PeerAddress>;
}

/** The peers operations but those of the web UI's live parts (ops-live.ts), and the cluster's. */
export interface PeerOps {
  peers: Omit<NodeOps['peers'], 'hints' | 'setAddress' | 'addresses'>;
  cluster: NodeOps['cluster'];
}

function pairingText(value: unknown): string {
  if (typeof value !== 'string') throw new ArozError('ERR_BAD_REQUEST', 'A "pairing" string is needed');
  return value;
}

export function peerOps(parts: PeerOpsParts): PeerOps {
  const { nodeUuid, home, trust, cluster } = parts;

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

  return {
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
}
