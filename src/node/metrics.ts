/**
 * Fills the `/metrics` snapshot (src/ops/metrics.ts) from the parts the daemon keeps: the node info
 * (stores, trash, quarantine, scrub), the cluster port's chunk traffic, the jobs, the repair
 * service's counts and last pass, the trust store and address book, the catalog and discovery. It
 * only reads, except for one counter it keeps itself: the file bytes of the jobs that finish.
 */

import type { JobManager } from '../jobs/manager.ts';
import type { JobRecord, JobState } from '../jobs/types.ts';
import { JOB_KINDS } from '../ops/jobs.ts';
import type { NodeMetrics } from '../ops/metrics.ts';
import type { NodeInfo } from '../transport/node-info.ts';
import { VERSION } from '../version.ts';
import type { ChunkTraffic } from './traffic.ts';

const JOB_STATES: readonly JobState[] = ['queued', 'running', 'done', 'failed', 'cancelled'];

export interface MetricsParts {
  nodeUuid: string;
  name: () => string;
  info: () => Promise<NodeInfo>;
  traffic: Pick<ChunkTraffic, 'received' | 'servedBytes' | 'inFlight'>;
  jobs: Pick<JobManager, 'list' | 'on'>;
  repair: {
    readonly counts: { passes: number; copies: number; bytes: number };
    readonly last:
      | { at: string; chunks: number; underReplicated: number; stillShort: number; failures: unknown[] }
      | undefined;
  };
  trust: { list(): Array<{ nodeUuid: string }> };
  book: { state(uuid: string): string };
  catalog: { counts(): { files: number; tombstones: number } };
  discovery: () => { visible(): unknown[] } | undefined;
  now?: () => number;
}

/** The file bytes a finished job moved: an upload's file size, a download's written size. */
function fileBytes(record: JobRecord): number {
  const result = record.result ?? {};
  const file = result['file'] as { size?: unknown } | undefined;
  const size = record.kind === 'upload' ? file?.size : result['size'];
  return Number.isSafeInteger(size) && (size as number) > 0 ? (size as number) : 0;
}

/** A function answering the snapshot; call once, when the daemon is wired (it starts counting then). */
export function metricsSource(parts: MetricsParts): () => Promise<NodeMetrics> {
  const started = (parts.now ?? Date.now)();
  const startedAt = Math.floor(started / 1000);
  const jobBytes = { upload: 0, download: 0 };
  const counted = new WeakSet<JobRecord>();
  /** Counts a job once, when it is done and finished since the daemon started. */
  const count = (record: JobRecord) => {
    if (record.state !== 'done' || counted.has(record)) return;
    if (record.finishedAt === undefined || Date.parse(record.finishedAt) < started) return;
    counted.add(record);
    if (record.kind === 'upload' || record.kind === 'download') jobBytes[record.kind] += fileBytes(record);
  };
  // At the change (a job the manager forgets later still counts), and at each snapshot: a record
  // shows its final state a moment before the manager announces it.
  parts.jobs.on('change', count);

  return async () => {
    for (const job of parts.jobs.list()) count(job);
    const info = await parts.info();
    const jobs = new Map<string, number>();
    for (const kind of Object.keys(JOB_KINDS))
      for (const state of JOB_STATES) jobs.set(`${kind} ${state}`, 0);
    for (const job of parts.jobs.list()) {
      const key = `${job.kind} ${job.state}`;
      jobs.set(key, (jobs.get(key) ?? 0) + 1);
    }
    const trusted = parts.trust.list();
    const last = parts.repair.last;
    const discovery = parts.discovery();
    return {
      node: { uuid: parts.nodeUuid, name: parts.name(), version: VERSION, startedAt },
      stores: info.stores.map((s) => ({
        id: s.id,
        kind: s.kind,
        online: s.online,
        capacity: s.capacity,
        free: s.free,
        used: s.used,
        chunks: s.chunks,
        trash: { chunks: s.trash.chunks, bytes: s.trash.bytes },
        quarantine: { chunks: s.quarantine?.chunks ?? 0, bytes: s.quarantine?.bytes ?? 0 },
      })),
      traffic: {
        receivedBytes: [...parts.traffic.received.values()].reduce((a, b) => a + b, 0),
        servedBytes: parts.traffic.servedBytes,
        inFlight: parts.traffic.inFlight,
      },
      jobBytes: { ...jobBytes },
      jobs: [...jobs].map(([key, count]) => {
        const [kind = '', state] = key.split(' ');
        return { kind, state: state as JobState, count };
      }),
      repair: {
        ...parts.repair.counts,
        last:
          last === undefined
            ? null
            : {
                at: last.at,
                chunks: last.chunks,
                underReplicated: last.underReplicated,
                stillShort: last.stillShort,
                failures: last.failures.length,
              },
      },
      scrub: info.scrub === undefined ? null : { checked: info.scrub.checked, corrupt: info.scrub.corrupt },
      peers: {
        trusted: trusted.length,
        online: trusted.filter((p) => parts.book.state(p.nodeUuid) === 'online').length,
      },
      catalog: (({ files, tombstones }) => ({ files, tombstones }))(parts.catalog.counts()),
      discovery: { enabled: discovery !== undefined, visible: discovery?.visible().length ?? 0 },
    };
  };
}
