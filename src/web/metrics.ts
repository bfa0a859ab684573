/**
 * `GET /metrics` on the web UI's listener (docs/web.md "Metrics"): the node's figures in the
 * Prometheus text format (version 0.0.4), for Grafana and the like. Off unless node.json sets
 * `"metrics": true`; then reachable with a logged-in session (the admin) or with
 * `Authorization: Bearer <token>`, where node.json keeps only the token's SHA-256
 * (`metricsTokenSha256`) and the sent token's hash is compared in constant time. It only formats
 * what the operations layer reports (NodeOps.metrics); no policy here.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ArozError } from '../errors.ts';
import type { NodeMetrics } from '../ops/metrics.ts';
import type { NodeOps } from '../ops/types.ts';
import type { WebRequest, WebRoutes } from './server.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** A bearer token longer than this is refused unread (a real one is ~43–64 characters). */
const MAX_TOKEN_LENGTH = 1024;

export interface MetricsSettings {
  enabled: boolean;
  /** SHA-256 of the bearer token, 64 lower-case hex digits; without it only a session may read. */
  tokenSha256?: string | undefined;
}

/** The hex SHA-256 that node.json's `metricsTokenSha256` holds for `token`. */
export function metricsTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Throws unless the request has a session or the right bearer token (ERR_WEB_LOGIN_REQUIRED, ERR_METRICS_TOKEN). */
function authorize(request: WebRequest, settings: MetricsSettings): void {
  if (request.session !== undefined) return;
  request.res.setHeader('www-authenticate', 'Bearer realm="arozdfs metrics"');
  const header = request.req.headers.authorization;
  const bearer = header === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(header)?.[1];
  if (bearer === undefined) {
    throw new ArozError(
      'ERR_WEB_LOGIN_REQUIRED',
      'Log in, or send the metrics token as "Authorization: Bearer <token>"',
    );
  }
  const want = settings.tokenSha256;
  const sent = bearer.length <= MAX_TOKEN_LENGTH ? metricsTokenHash(bearer) : '';
  if (want === undefined || !sameHex(sent, want)) {
    throw new ArozError(
      'ERR_METRICS_TOKEN',
      want === undefined
        ? 'No metrics token is set on this node (node.json "metricsTokenSha256")'
        : 'The metrics token is wrong',
    );
  }
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The `/metrics` route when it is on; none (so a 404, as for any unknown path) when it is off. */
export function metricsRoutes(ops: Pick<NodeOps, 'metrics'>, settings: MetricsSettings): WebRoutes {
  if (!settings.enabled) return {};
  return {
    'GET /metrics': {
      // Its own check: a session or the bearer token (a scraper has no cookie).
      public: true,
      handler: async (request) => {
        authorize(request, settings);
        const body = Buffer.from(formatMetrics(await ops.metrics()), 'utf8');
        request.res.writeHead(200, {
          'content-type': METRICS_CONTENT_TYPE,
          'content-length': body.length,
          'cache-control': 'no-store',
        });
        request.res.end(request.method === 'HEAD' ? undefined : body);
        return undefined;
      },
    },
  };
}

type Labels = Record<string, string>;

/** A label value as the text format wants it: backslash, double quote and line feed escaped. */
function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${labelValue(v)}"`);
  return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${Number.isFinite(value) ? value : 'NaN'}`;
}

/** The Prometheus text format of a snapshot: for each metric `# HELP`, `# TYPE`, then its samples. */
export function formatMetrics(m: NodeMetrics): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: 'gauge' | 'counter',
    help: string,
    samples: Array<[Labels, number]>,
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(sample(name, labels, value));
  };
  const online = m.stores.filter((s) => s.online);
  const sum = (f: (s: NodeMetrics['stores'][number]) => number) => online.reduce((n, s) => n + f(s), 0);
  const store = (s: { id: string }) => ({ store: s.id });

  metric('arozdfs_node_info', 'gauge', 'This node: UUID, name and arozdfs version (always 1).', [
    [{ uuid: m.node.uuid, name: m.node.name, version: m.node.version }, 1],
  ]);
  metric('arozdfs_start_time_seconds', 'gauge', 'When the daemon started (Unix time).', [
    [{}, m.node.startedAt],
  ]);
  metric('arozdfs_chunks', 'gauge', 'Chunk copies on this node by state (online stores).', [
    [{ state: 'stored' }, sum((s) => s.chunks)],
    [{ state: 'trash' }, sum((s) => s.trash.chunks)],
    [{ state: 'quarantined' }, sum((s) => s.quarantine.chunks)],
  ]);
  metric('arozdfs_chunk_bytes', 'gauge', 'Bytes of chunk copies on this node by state (online stores).', [
    [{ state: 'stored' }, sum((s) => s.used - s.trash.bytes - s.quarantine.bytes)],
    [{ state: 'trash' }, sum((s) => s.trash.bytes)],
    [{ state: 'quarantined' }, sum((s) => s.quarantine.bytes)],
  ]);
  metric('arozdfs_store_online', 'gauge', 'Whether a store is online (1) or not (0).', [
    ...m.stores.map((s): [Labels, number] => [{ ...store(s), kind: s.kind }, s.online ? 1 : 0]),
  ]);
  metric(
    'arozdfs_store_capacity_bytes',
    'gauge',
    'Bytes a store may use: its limit, else its filesystem size.',
    [...m.stores.map((s): [Labels, number] => [store(s), s.capacity])],
  );
  metric('arozdfs_store_free_bytes', 'gauge', 'Bytes a new chunk may still use in a store.', [
    ...m.stores.map((s): [Labels, number] => [store(s), s.free]),
  ]);
  metric('arozdfs_store_used_bytes', 'gauge', 'Bytes of chunks and trash in a store.', [
    ...m.stores.map((s): [Labels, number] => [store(s), s.used]),
  ]);
  metric(
    'arozdfs_transfer_bytes_total',
    'counter',
    'Chunk bytes moved through the cluster port since start: in = peers stored here, out = peers read from here.',
    [
      [{ direction: 'in' }, m.traffic.receivedBytes],
      [{ direction: 'out' }, m.traffic.servedBytes],
    ],
  );
  metric(
    'arozdfs_chunk_requests_in_flight',
    'gauge',
    'Chunk GET and PUT requests of peers being served now.',
    [[{}, m.traffic.inFlight]],
  );
  metric(
    'arozdfs_job_file_bytes_total',
    'counter',
    'File bytes of the upload and download jobs that finished since start.',
    [
      [{ kind: 'upload' }, m.jobBytes.upload],
      [{ kind: 'download' }, m.jobBytes.download],
    ],
  );
  metric('arozdfs_jobs', 'gauge', 'Jobs this node keeps, by kind and state.', [
    ...m.jobs.map((j): [Labels, number] => [{ kind: j.kind, state: j.state }, j.count]),
  ]);
  metric('arozdfs_repair_passes_total', 'counter', 'Repair passes run since start.', [[{}, m.repair.passes]]);
  metric('arozdfs_repair_copies_total', 'counter', 'Copies repair had other nodes make since start.', [
    [{}, m.repair.copies],
  ]);
  metric('arozdfs_repair_bytes_total', 'counter', 'Chunk bytes those copies moved since start.', [
    [{}, m.repair.bytes],
  ]);
  const last = m.repair.last;
  const lastSample = (value: (l: NonNullable<typeof last>) => number): Array<[Labels, number]> =>
    last === null ? [] : [[{}, value(last)]];
  metric(
    'arozdfs_repair_under_replicated_chunks',
    'gauge',
    'Chunks the last repair pass found short of copies (this node their repairer).',
    lastSample((l) => l.underReplicated),
  );
  metric(
    'arozdfs_repair_backlog_chunks',
    'gauge',
    'Chunks still short of copies after the last repair pass (no node could take one).',
    lastSample((l) => l.stillShort),
  );
  metric('arozdfs_repair_failures', 'gauge', 'Copies that failed in the last repair pass.', [
    ...lastSample((l) => l.failures),
  ]);
  metric(
    'arozdfs_repair_last_pass_timestamp_seconds',
    'gauge',
    'When the last repair pass ended (Unix time).',
    [...lastSample((l) => Math.floor(Date.parse(l.at) / 1000))],
  );
  metric('arozdfs_scrub_checked_chunks', 'gauge', 'Chunks the scrub checked in its current pass.', [
    ...(m.scrub === null ? [] : [[{}, m.scrub.checked] as [Labels, number]]),
  ]);
  metric(
    'arozdfs_scrub_corrupt_total',
    'counter',
    'Corrupt copies the scrub found since the node was made.',
    [...(m.scrub === null ? [] : [[{}, m.scrub.corrupt] as [Labels, number]])],
  );
  metric('arozdfs_peers_trusted', 'gauge', 'Peers this node trusts (pinned keys).', [[{}, m.peers.trusted]]);
  metric('arozdfs_peers_online', 'gauge', 'Trusted peers online now (a pinned exchange lately).', [
    [{}, m.peers.online],
  ]);
  metric('arozdfs_catalog_files', 'gauge', "Files in this node's catalog of the cluster.", [
    [{}, m.catalog.files],
  ]);
  metric('arozdfs_catalog_tombstones', 'gauge', 'Deleted files the catalog keeps a tombstone of.', [
    [{}, m.catalog.tombstones],
  ]);
  metric('arozdfs_discovery_visible_nodes', 'gauge', 'Nodes mDNS discovery sees now (0 when it is off).', [
    [{}, m.discovery.visible],
  ]);
  return `${lines.join('\n')}\n`;
}
