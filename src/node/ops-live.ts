/**
 * The parts of NodeOps the web UI added for people pairing and watching a node (docs/web.md): pairing
 * hints, static peer addresses kept in node.json, change events, and a file streamed from the cluster.
 * Same rules as ops.ts: policy here, surfaces only adapt.
 */
import { ensureDir } from '../durable/index.ts';
import { ArozError } from '../errors.ts';
import type { AuditSource } from '../home/audit.ts';
import type { NodeHome } from '../home/open.ts';
import type { JobManager } from '../jobs/manager.ts';
import type { TrustStore } from '../keys/trust-store.ts';
import type { Discovered, FileSink, NodeEvent, NodeOps, PairingHintsView } from '../ops/types.ts';
import { streamFile } from '../transfer/stream.ts';
import type { PeerAddress } from '../transport/pool.ts';
import { assertUuid } from '../uuid.ts';
import type { CatalogService } from './catalog-service.ts';
import type { ClusterServices } from './cluster-services.ts';
import { type ConnectParts, connector } from './connect.ts';
import { formatHostPort, parseHostPort } from './host-port.ts';
import type { PairingHints } from './pairing-hints.ts';
import { readSigners } from './read-trust.ts';

/** How often the cluster's state is compared while someone listens (a change is an event). */
const CLUSTER_WATCH_MS = 1_000;
/** A job's progress is an event at most this often (its state changes always are). */
const JOB_EVENT_MS = 250;
const STREAM_IDLE_MS = 30_000;

export interface LiveParts extends ConnectParts {
  home: NodeHome;
  trust: TrustStore;
  jobs: JobManager;
  catalog: Pick<CatalogService, 'store' | 'on'>;
  cluster: Pick<ClusterServices, 'book'>;
  hints: PairingHints;
  /** Sets or removes a static address of a node at once (the daemon's address sources). */
  setStaticPeer(nodeUuid: string, address: PeerAddress | null): void;
}

type LiveOps = Pick<NodeOps, 'events'> & {
  peers: Pick<NodeOps['peers'], 'hints' | 'setAddress' | 'addresses'>;
  files: Pick<NodeOps['files'], 'stream'>;
};

export function liveOps(
  parts: LiveParts,
  discover: () => Discovered,
  index: NodeOps['files']['index'],
): LiveOps {
  const { home, trust, hints, jobs } = parts;
  const listeners = new Set<(event: NodeEvent) => void>();
  const emit = (event: NodeEvent) => {
    for (const listener of listeners) listener(event);
  };

  // Jobs: every state change at once, progress at most every JOB_EVENT_MS per job.
  const sentAt = new Map<string, { at: number; state: string }>();
  jobs.on('change', (job) => {
    if (listeners.size === 0) return;
    const last = sentAt.get(job.id);
    const now = Date.now();
    if (last !== undefined && last.state === job.state && now - last.at < JOB_EVENT_MS) return;
    sentAt.set(job.id, { at: now, state: job.state });
    if (sentAt.size > 1000) sentAt.delete(sentAt.keys().next().value as string);
    emit({ type: 'job', job });
  });
  hints.on('change', () => emit({ type: 'hints' }));
  parts.catalog.on('change', () => listeners.size > 0 && emit({ type: 'files' }));
  trust.on('added', (peer) => {
    hints.forget(peer.nodeUuid);
    emit({ type: 'cluster' });
    emit({ type: 'hints' });
  });
  trust.on('removed', () => emit({ type: 'cluster' }));

  // The cluster: what the pages show of it, compared every second while someone listens.
  const digest = () => {
    const seen = discover();
    return JSON.stringify([
      seen.nodes.map((n) => [n.nodeUuid, n.address, n.trust]),
      trust.list().map((p) => {
        const found = parts.cluster.book.resolve(p.nodeUuid);
        const best = found?.addresses[0];
        return [p.nodeUuid, parts.cluster.book.state(p.nodeUuid), best ? formatHostPort(best) : null];
      }),
    ]);
  };
  let watch: NodeJS.Timeout | undefined;
  let last = '';
  const startWatch = () => {
    last = digest();
    watch = setInterval(() => {
      const now = digest();
      if (now !== last) {
        last = now;
        emit({ type: 'cluster' });
      }
    }, CLUSTER_WATCH_MS);
    watch.unref();
  };

  return {
    events: (listener) => {
      listeners.add(listener);
      if (watch === undefined) startWatch();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && watch !== undefined) {
          clearInterval(watch);
          watch = undefined;
        }
      };
    },

    peers: {
      hints: (): PairingHintsView => {
        const seen = discover();
        const names = new Map(seen.nodes.map((n) => [n.nodeUuid, n.name]));
        return {
          handshakes: hints.list().map((h) => ({ ...h, name: names.get(h.nodeUuid) ?? null })),
          discovered: seen.nodes
            .filter((n) => n.trust === 'untrusted')
            .map((n) => ({
              nodeUuid: n.nodeUuid,
              name: n.name,
              fingerprintShort: n.fingerprintShort,
              address: n.address,
              seenAt: n.seenAt,
            })),
        };
      },
      setAddress: async (node, address, from: AuditSource) => {
        const uuid = assertUuid(node, 'The node UUID');
        if (trust.get(uuid) === undefined) {
          throw new ArozError('ERR_PEER_NOT_FOUND', `Node "${uuid}" is not trusted: pair with it first`);
        }
        let parsed: PeerAddress | null = null;
        if (address !== null && address !== '') {
          if (typeof address !== 'string' || address.length > 300) {
            throw new ArozError('ERR_USAGE', 'The address must be "host:port" (e.g. 192.168.1.20:7420)');
          }
          parsed = parseHostPort(address.trim(), 'The address');
          if (parsed.port === 0)
            throw new ArozError('ERR_USAGE', `The address "${address}" needs a port from 1 to 65535`);
        }
        const kept = { ...(home.config.peerAddresses ?? {}) };
        if (parsed === null) delete kept[uuid];
        else kept[uuid] = formatHostPort(parsed);
        await home.updateConfig({ peerAddresses: kept });
        parts.setStaticPeer(uuid, parsed);
        await home.audit({
          action: 'peer-address',
          nodeUuid: uuid,
          fingerprint: trust.get(uuid)?.fingerprint ?? null,
          address: parsed === null ? null : formatHostPort(parsed),
          from,
        });
        emit({ type: 'cluster' });
        return { nodeUuid: uuid, address: parsed === null ? null : formatHostPort(parsed) };
      },
      addresses: () => ({ ...(home.config.peerAddresses ?? {}) }),
    },

    files: {
      stream: async (id: string, sink: FileSink, signal: AbortSignal) => {
        const file = await index(id, signal);
        await ensureDir(home.paths.downloads, 0o700);
        await streamFile(file, {
          scratchDir: home.paths.downloads,
          trusted: await readSigners(home, trust, parts.catalog.store, file),
          connect: connector(parts, STREAM_IDLE_MS),
          onlineNodes: () => [parts.nodeUuid, ...trust.list().map((p) => p.nodeUuid)],
          holdersOf: (chunk) => parts.catalog.store.holdersOf(chunk),
          signal,
          onStart: () => sink.start({ name: file.file.name, size: file.file.size }),
          write: (piece) => sink.write(piece),
        });
      },
    },
  };
}
