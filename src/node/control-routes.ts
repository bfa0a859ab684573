/**
 * What the daemon answers on its control socket: trust and key changes (so the daemon stays the only
 * writer of ADDC/ and hears every change at once), status, and the cluster view. The CLI has asked
 * the person to confirm before it calls; the daemon re-parses and re-checks everything it is sent.
 */

import { classify } from '../cluster/index.ts';
import type { ControlRoutes } from '../control/server.ts';
import { ArozError } from '../errors.ts';
import type { JobRecord } from '../jobs/types.ts';
import { sanitizeLabel } from '../keys/label.ts';
import { parsePastedPeer } from '../keys/pairing.ts';
import type { PinnedPeer } from '../keys/trust-store.ts';
import { getJson } from '../transport/client.ts';
import { parseNodeInfo } from '../transport/node-info.ts';
import { assertUuid } from '../uuid.ts';
import { checkRoute } from './check.ts';
import type { Daemon } from './daemon.ts';
import { formatHostPort } from './host-port.ts';

const PROBE_TIMEOUT_MS = 3_000;
const PROGRESS_INTERVAL_MS = 200;

export function peerJson(peer: PinnedPeer) {
  return {
    nodeUuid: peer.nodeUuid,
    label: peer.label,
    bits: peer.bits,
    fingerprint: peer.fingerprint,
    addedAt: peer.addedAt ?? null,
  };
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

export function controlRoutes(daemon: Daemon): ControlRoutes {
  return {
    'GET /v1/status': async () => ({
      ...(await daemon.info()),
      // While starting, the control socket answers before the cluster port listens.
      listen: daemon.ready ? daemon.listenAddress() : null,
      peers: daemon.trust.list().length,
      ready: daemon.ready,
    }),

    'POST /v1/peers': async ({ body }) => {
      const pairing = field(body, 'pairing');
      if (typeof pairing !== 'string') throw new ArozError('ERR_BAD_REQUEST', 'A "pairing" string is needed');
      const pasted = parsePastedPeer(pairing);
      const { peer, added } = await daemon.home.addPeer(daemon.trust, pasted, 'control-socket');
      return { ...peerJson(peer), added };
    },

    'DELETE /v1/peers/*': async ({ param }) => {
      const nodeUuid = assertUuid(param, 'The node UUID');
      const removed = await daemon.home.removePeer(nodeUuid, 'control-socket', daemon.trust);
      return { nodeUuid, label: removed.label, fingerprint: removed.fingerprint ?? null };
    },

    'POST /v1/keys': async ({ body, signal }) => {
      const bits = field(body, 'bits');
      if (typeof bits !== 'number') throw new ArozError('ERR_BAD_REQUEST', 'A number of "bits" is needed');
      const pair = await daemon.home.generateKey(bits, 'control-socket', { signal });
      return { keyUuid: pair.keyUuid, bits: pair.bits, fingerprint: pair.fingerprint, active: false };
    },

    'POST /v1/keys/activate': async ({ body }) => {
      const keyUuid = assertUuid(field(body, 'keyUuid'), 'The key UUID');
      const { pair, previous } = await daemon.activateKey(keyUuid);
      return { keyUuid, fingerprint: pair.fingerprint, previousKey: previous, changed: previous !== keyUuid };
    },

    'POST /v1/jobs': async ({ body }) => {
      const kind = field(body, 'kind');
      const params = field(body, 'params');
      if ((kind !== 'upload' && kind !== 'download') || typeof params !== 'object' || params === null) {
        throw new ArozError('ERR_BAD_REQUEST', 'A job needs a "kind" (upload or download) and "params"');
      }
      return await daemon.jobs.submit(kind, params as Record<string, unknown>);
    },

    'GET /v1/jobs': async () => ({ jobs: daemon.jobs.list() }),

    'GET /v1/jobs/*': async ({ param }) => daemon.jobs.get(param ?? ''),

    'POST /v1/jobs/cancel/*': async ({ param }) => await daemon.jobs.cancel(param ?? ''),

    'POST /v1/check': (request) => checkRoute(daemon, request),

    'GET /v1/jobs/wait/*': async ({ param, signal, send }) => {
      // Progress is sent at most every PROGRESS_INTERVAL_MS; a trailing timer sends the latest one
      // so a follower never shows stale figures while the job waits on something.
      let last = 0;
      let pending: JobRecord | undefined;
      let timer: NodeJS.Timeout | undefined;
      const flush = () => {
        timer = undefined;
        if (pending?.progress === undefined) return;
        last = Date.now();
        send({ type: 'progress', job: pending.id, state: pending.state, ...pending.progress });
        pending = undefined;
      };
      try {
        const job = await daemon.jobs.wait(param ?? '', {
          signal,
          onChange: (record) => {
            if (record.progress === undefined) return;
            pending = record;
            const wait = PROGRESS_INTERVAL_MS - (Date.now() - last);
            if (wait <= 0) flush();
            else timer ??= setTimeout(flush, wait);
          },
        });
        send({ type: 'result', job });
      } finally {
        clearTimeout(timer);
      }
      return undefined;
    },

    'GET /v1/cluster/discover': async () => discovered(daemon),

    'GET /v1/cluster/resolve/*': async ({ param, signal }) => {
      const nodeUuid = assertUuid(param, 'The node UUID');
      const found = await daemon.cluster.resolve(
        nodeUuid,
        AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
      );
      const best = found?.addresses.find((a) => a.verified) ?? found?.addresses[0];
      if (found === undefined || best === undefined || found.state !== 'online') {
        throw new ArozError(
          'ERR_PEER_UNREACHABLE',
          `No live address of node "${nodeUuid}" is known right now`,
        );
      }
      return {
        nodeUuid,
        address: formatHostPort(best),
        source: best.source,
        verified: best.verified,
        state: found.state,
        lastSeen: found.lastSeen === undefined ? null : new Date(found.lastSeen).toISOString(),
        seq: found.record?.seq ?? null,
      };
    },

    'GET /v1/cluster/nodes': async ({ signal }) => {
      const peers = daemon.trust.list();
      return { nodes: await Promise.all(peers.map((peer) => probe(daemon, peer, signal))) };
    },
  };
}

/** Where the address book says a node is: the best candidate and how it is known. */
export function located(daemon: Daemon, nodeUuid: string) {
  const found = daemon.cluster.book.resolve(nodeUuid);
  const best = found?.addresses[0];
  const fixed = daemon.staticPeers.get(nodeUuid);
  return {
    address: best !== undefined ? formatHostPort(best) : fixed !== undefined ? formatHostPort(fixed) : null,
    source: best?.source ?? (fixed !== undefined ? 'static' : null),
    lastSeen: found?.lastSeen === undefined ? null : new Date(found.lastSeen).toISOString(),
  };
}

/** Whether a pinned handshake to a peer works right now, and what it says about itself. */
export async function probe(daemon: Daemon, peer: PinnedPeer, signal: AbortSignal) {
  const timeout = AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]);
  try {
    const session = await daemon.pool.session(peer.nodeUuid, { signal: timeout });
    // Checked before it is read: figures that are not byte counts make the peer's row an error.
    const info = parseNodeInfo(
      await getJson(session, '/v1/node', peer.nodeUuid, { signal: timeout }),
      peer.nodeUuid,
    );
    daemon.cluster.book.markSeen(peer.nodeUuid);
    const online = info.stores.filter((s) => s.online);
    const free = online.reduce((n, s) => n + s.free, 0);
    return {
      ...peerJson(peer),
      ...located(daemon, peer.nodeUuid),
      state: 'online',
      // What a peer says about itself is cleaned like any label (no control, bidi or format characters).
      name: typeof info.name === 'string' ? sanitizeLabel(info.name) : null,
      version: typeof info.version === 'string' ? sanitizeLabel(info.version) : null,
      free,
      // Deleted chunks it keeps until its grace period ends (they still count as used).
      trash: {
        chunks: online.reduce((n, s) => n + s.trash.chunks, 0),
        bytes: online.reduce((n, s) => n + s.trash.bytes, 0),
      },
      stores: info.stores.map((s) => ({ online: s.online, free: s.free, capacity: s.capacity })),
    };
  } catch (err) {
    if (!(err instanceof ArozError)) throw err;
    const where = located(daemon, peer.nodeUuid);
    const state = where.address === null ? 'unknown' : 'offline';
    return {
      ...peerJson(peer),
      ...where,
      state,
      error: `${err.message} (${err.code})`,
      code: err.code,
      reason: err.reason ?? null,
    };
  }
}

/** What mDNS shows, each node classified against the trust store. */
export function discovered(daemon: Daemon) {
  const discovery = daemon.cluster.discovery;
  if (discovery === undefined) return { enabled: false, nodes: [], duplicates: [] };
  const self = {
    uuid: daemon.nodeUuid,
    instance: daemon.cluster.instance,
    fingerprint: daemon.cluster.fingerprint,
  };
  return {
    enabled: true,
    nodes: discovery.visible().map((v) => ({
      nodeUuid: v.uuid,
      name: v.name,
      address: formatHostPort({ host: v.host, port: v.port }),
      fingerprintShort: v.fingerprintShort,
      instance: v.instance,
      trust: classify(v, { self, trust: daemon.trust }),
      seenAt: new Date(v.seenAt).toISOString(),
    })),
    duplicates: daemon.cluster.duplicates.map((a) => ({ address: formatHostPort(a), instance: a.instance })),
  };
}
