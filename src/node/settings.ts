/**
 * The daemon's timings, each from its start option, else node.json, else its documented default
 * (docs/config.md): one place, so the composition root only wires.
 */
import { DEFAULT_TRASH_GRACE_SECONDS, type NodeConfig } from '../home/node-config.ts';
import { DEFAULT_CATALOG_SYNC_SECONDS } from './catalog-service.ts';
import {
  DEFAULT_ORPHAN_AGE_SECONDS,
  DEFAULT_REPAIR_GONE_SECONDS,
  DEFAULT_REPAIR_INTERVAL_SECONDS,
} from './repair.ts';
import { DEFAULT_SCRUB, type ScrubSettings } from './scrub.ts';

/** What a start may set in place of node.json (tests shorten the timings). */
export interface SettingOptions {
  trashGraceSeconds?: number;
  catalogSyncMs?: number;
  scrub?: Partial<ScrubSettings>;
  repair?: { goneMs?: number; intervalMs?: number; orphanAgeMs?: number };
  jobConcurrency?: number;
}

/**
 * Jobs the daemon runs at once when node.json does not say (`jobConcurrency`): enough that one job
 * stuck on a frozen peer (until its idle timeout) does not hold up the queue, few enough that the
 * transfers do not fight over the disks (docs/transfer.md "Jobs at once").
 */
export const DEFAULT_JOB_CONCURRENCY = 4;

export interface DaemonSettings {
  jobConcurrency: number;
  catalogSyncMs: number;
  trashGraceMs: number;
  scrub: ScrubSettings;
  repair: { goneMs: number; intervalMs: number; orphanAgeMs: number };
}

export function daemonSettings(options: SettingOptions, config: NodeConfig): DaemonSettings {
  const seconds = (value: number | undefined, fallback: number) => (value ?? fallback) * 1000;
  return {
    jobConcurrency: options.jobConcurrency ?? config.jobConcurrency ?? DEFAULT_JOB_CONCURRENCY,
    catalogSyncMs: options.catalogSyncMs ?? seconds(config.catalogSyncSeconds, DEFAULT_CATALOG_SYNC_SECONDS),
    trashGraceMs: seconds(options.trashGraceSeconds ?? config.trashGraceSeconds, DEFAULT_TRASH_GRACE_SECONDS),
    scrub: {
      ...DEFAULT_SCRUB,
      passSeconds: config.scrubPassSeconds ?? DEFAULT_SCRUB.passSeconds,
      maxBytesPerSecond: config.scrubMaxBytesPerSecond ?? DEFAULT_SCRUB.maxBytesPerSecond,
      ...options.scrub,
    },
    repair: {
      orphanAgeMs:
        options.repair?.orphanAgeMs ?? seconds(config.orphanAgeSeconds, DEFAULT_ORPHAN_AGE_SECONDS),
      goneMs: options.repair?.goneMs ?? seconds(config.repairGoneSeconds, DEFAULT_REPAIR_GONE_SECONDS),
      intervalMs:
        options.repair?.intervalMs ?? seconds(config.repairIntervalSeconds, DEFAULT_REPAIR_INTERVAL_SECONDS),
    },
  };
}
