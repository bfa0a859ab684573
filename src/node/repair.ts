/**
 * The repair service (docs/repair.md): keeps every file of the catalog at the number of copies its
 * index asks for. A pass walks the live files; for each chunk this node holds a good copy of, it
 * counts the good copies (index holders and holdings statements; a node removed by a person, or
 * unreachable for longer than `goneMs`, counts no more; a copy found missing or different counts no
 * more at once), and when this node is the chunk's repairer (the lowest UUID among the online good
 * holders) it has new holders fetch the chunk from the good ones through `copy` tasks — the bytes go
 * holder → new holder. The new holder states its holdings in the catalog (src/node/tasks.ts
 * `onHeld`); this node pulls that statement from it at once.
 *
 * Bounded: one pass at a time, `parallel` chunks at once, each copy a task the new holder may refuse
 * (ERR_NO_SPACE: the next node is tried); a pass waits while this node's own transfer jobs run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';
import { ArozError, isProgrammingError } from '../errors.ts';
import {
  type IndexChunk,
  type IndexFile,
  isSealed,
  SEALED_OVERHEAD,
  storedObjects,
} from '../index-file/index.ts';
import { eachLimited } from '../limit.ts';
import type { RepairResult } from '../ops/jobs.ts';
import type { NodeSpace } from '../placement/index.ts';
import { type CopyState, isExtraCopy, judgeChunk, judgeShards, newHolders } from '../repair/index.ts';
import type { ChunkStore, StoreStatus } from '../store/types.ts';
import { repeatEvery } from '../timers.ts';
import type { Connect } from '../transfer/types.ts';
import type { NodeOrphans } from '../transport/node-info.ts';
import { askRebuild } from '../transport/rebuild-task.ts';
import { askCopy } from '../transport/tasks.ts';
import type { CatalogService } from './catalog-service.ts';
import { type OrphanParts, walkOrphans } from './orphans.ts';

const debug = debuglog('arozdfs');

/** Default seconds a node may be unreachable before its copies count no more (node.json `repairGoneSeconds`). */
export const DEFAULT_REPAIR_GONE_SECONDS = 15 * 60;
/** Default seconds between two periodic passes (node.json `repairIntervalSeconds`). */
export const DEFAULT_REPAIR_INTERVAL_SECONDS = 10 * 60;
/** Default seconds an unreferenced copy must have been here before it is an orphan (node.json `orphanAgeSeconds`). */
export const DEFAULT_ORPHAN_AGE_SECONDS = 24 * 60 * 60;
/** Chunks looked at (and copies made) at once. */
const PARALLEL = 2;
/** How long a peer has to answer the probe of a pass, and each `head` of a copy. */
const PROBE_MS = 5_000;
/** Pause between two looks while this node's transfers run. */
const BUSY_POLL_MS = 500;
/** Failures kept in a report. */
const MAX_FAILURES = 100;

export interface RepairOptions extends OrphanParts {
  stores: ChunkStore & { status(options?: { signal?: AbortSignal }): Promise<StoreStatus> };
  catalog: Pick<CatalogService, 'store' | 'sync' | 'held' | 'syncedAt'>;
  connect: Connect;
  /** True while this node's own transfers run: a pass waits. */
  busy: () => boolean;
  goneMs: number;
  /** Between two periodic passes; 0 turns the periodic pass off. */
  intervalMs: number;
  now?: () => number;
}

export interface PassOptions {
  signal: AbortSignal;
  /** Only this file id. */
  file?: string;
  /** Count a node unreachable now as gone without waiting for the delay. */
  now?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export class RepairService {
  #options: RepairOptions;
  /** When each peer was first found unreachable (cleared when it answers). */
  #unreachableSince = new Map<string, number>();
  #queue: Promise<unknown> = Promise.resolve();
  #stopTimer: (() => void) | undefined;
  #stop = new AbortController();
  #periodic: Promise<unknown> | undefined;
  /** The last pass's report (periodic or asked for). */
  last: (RepairResult & { at: string }) | undefined;
  /** The last full pass's orphan figures (GET /v1/node `orphans`). */
  orphans: NodeOrphans | undefined;
  /** Chunk bytes this node's repairs had new holders fetch, since start. */
  readonly counts = { passes: 0, copies: 0, bytes: 0 };

  constructor(options: RepairOptions) {
    this.#options = options;
  }

  /** The delay before an unreachable peer is gone, and the time between periodic passes (0: none). */
  get settings(): { goneMs: number; intervalMs: number; orphanAgeMs: number } {
    const { goneMs, intervalMs, orphanAgeMs } = this.#options;
    return { goneMs, intervalMs, orphanAgeMs };
  }

  start(): void {
    if (this.#options.intervalMs <= 0) return;
    this.#stopTimer = repeatEvery(this.#options.intervalMs, () => {
      if (this.#periodic !== undefined) return;
      this.#periodic = this.pass({ signal: this.#stop.signal })
        .catch((err: unknown) => {
          if (isProgrammingError(err)) throw err;
          debug('repair: periodic pass: %s', (err as Error).message);
        })
        .finally(() => {
          this.#periodic = undefined;
        });
    });
  }

  async close(): Promise<void> {
    this.#stopTimer?.();
    this.#stop.abort(new ArozError('ERR_INTERRUPTED', 'The node is shutting down'));
    await this.#periodic;
  }

  /** Runs a pass after the one in progress (one at a time); resolves with its report. */
  pass(options: PassOptions): Promise<RepairResult> {
    const run = this.#queue.then(() => this.#pass(options));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #pass(options: PassOptions): Promise<RepairResult> {
    const signal = AbortSignal.any([options.signal, this.#stop.signal]);
    while (this.#options.busy()) await sleep(BUSY_POLL_MS, undefined, { signal });
    const { catalog, nodeUuid } = this.#options;
    const online = await this.#probe(signal);
    const gone = this.#goneTest(online, options.now === true);
    const report: RepairResult = {
      files: 0,
      chunks: 0,
      underReplicated: 0,
      stillShort: 0,
      copies: 0,
      collected: 0,
      orphans: 0,
      orphansKept: 0,
      bytes: 0,
      failures: [],
      gone: this.#options.trust
        .list()
        .map((p) => p.nodeUuid)
        .filter((n) => gone(n)),
    };
    const indexes: IndexFile[] = [];
    if (options.file !== undefined) {
      const index = catalog.store.indexOf(options.file);
      if (index === undefined)
        throw new ArozError('ERR_NOT_FOUND', `No file "${options.file}" in the catalog`);
      indexes.push(index);
    } else {
      for (const f of catalog.store.files()) {
        const index = catalog.store.indexOf(f.id);
        if (index !== undefined) indexes.push(index);
      }
    }
    const work = indexes.flatMap((index) => {
      const { redundancy } = index;
      // Erasure-coded files are rebuilt shard by shard (#rebuildShards), not copied.
      if (redundancy.scheme !== 'replicas') return [];
      const copies = redundancy.copies;
      return index.chunks.map((chunk) => ({
        index,
        copies,
        chunk,
        holders: catalog.store.holdersOf(chunk.uuid),
      }));
    });
    report.files = indexes.length;
    let done = 0;
    options.onProgress?.(0, work.length);
    await eachLimited(work, PARALLEL, async ({ index, copies, chunk, holders }) => {
      signal.throwIfAborted();
      try {
        if (!holders.includes(nodeUuid)) return;
        // What the holders store: of an encrypted file, the sealed chunk (its tag after it).
        const [stored] = storedObjects(chunk, isSealed(index));
        const expect = { sha256: stored!.sha256, size: stored!.size };
        const states = new Map<string, CopyState>();
        for (const node of holders)
          states.set(node, await this.#state(node, chunk.uuid, expect, online, gone, signal));
        report.chunks++;
        const verdict = judgeChunk({ copies, holders: states });
        const listed = new Set((chunk.holders ?? []).map((h) => h.node));
        if (isExtraCopy(nodeUuid, verdict, copies, listed)) {
          await this.#collect(index.id, chunk.uuid, signal);
          report.collected++;
          return;
        }
        if (verdict.repairer !== nodeUuid || verdict.missing === 0) return;
        report.underReplicated++;
        const exclude = new Set(holders);
        let missing = verdict.missing;
        for (const target of newHolders([...online.values()], exclude, index.id, chunk.i, expect.size)) {
          if (missing === 0) break;
          try {
            const answer = await askCopy(
              { uuid: target, session: (s) => this.#options.pool.session(target, { signal: s }) },
              {
                chunk: chunk.uuid,
                sha256: expect.sha256,
                size: expect.size,
                from: verdict.sources.slice(0, 16),
              },
              { signal },
            );
            missing--;
            report.copies++;
            report.bytes += answer.bytes;
            this.counts.copies++;
            this.counts.bytes += answer.bytes;
            const space = online.get(target);
            if (space !== undefined) space.free -= expect.size;
            // The new holder stated its holdings before answering: pull them now.
            await catalog.sync(target).catch(() => {});
          } catch (err) {
            if (isProgrammingError(err) || signal.aborted) throw err;
            const code = err instanceof ArozError ? err.code : 'ERR_INTERNAL';
            if (report.failures.length < MAX_FAILURES)
              report.failures.push({
                chunk: chunk.uuid,
                node: target,
                code,
                message: (err as Error).message,
              });
          }
        }
        if (missing > 0) report.stillShort++;
      } finally {
        options.onProgress?.(++done, work.length);
      }
    });
    const sharded = indexes.flatMap((index) => {
      const { redundancy } = index;
      if (redundancy.scheme !== 'rs') return [];
      return index.chunks.map((chunk) => ({
        index,
        data: redundancy.data,
        parity: redundancy.parity,
        chunk,
      }));
    });
    await eachLimited(sharded, PARALLEL, (item) => this.#rebuildShards(item, online, gone, report, signal));
    if (options.file === undefined) {
      await walkOrphans(this.#options, report, this.#now(), signal);
      this.orphans = {
        collected: report.orphans,
        kept: report.orphansKept,
        at: new Date(this.#now()).toISOString(),
      };
    }
    this.counts.passes++;
    this.last = { ...report, at: new Date(this.#now()).toISOString() };
    if (report.copies > 0 || report.failures.length > 0) {
      this.#options.log(
        `Repair: ${report.underReplicated} of ${report.chunks} chunk(s) had too few copies; ${report.copies} new cop${report.copies === 1 ? 'y' : 'ies'} made, ${report.failures.length} failure(s).`,
      );
    }
    return report;
  }

  /** Moves this node's extra copy to its trash and states its holdings of the file again. */
  async #collect(file: string, chunk: string, signal: AbortSignal): Promise<void> {
    const { stores, catalog } = this.#options;
    const info = await stores.head(chunk, { signal });
    if (info === undefined) return;
    await stores.delete(chunk, { by: info.uploader, signal });
    await catalog.held(file);
    this.#options.log(
      `Repair: chunk ${chunk} of file ${file} had more copies than asked; this node's went to the trash.`,
    );
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  /** Every node that answers now with an online store (this node included), with the bytes it can take. */
  async #probe(signal: AbortSignal): Promise<Map<string, NodeSpace>> {
    const { trust, stores, nodeUuid, connect } = this.#options;
    const out = new Map<string, NodeSpace>();
    const own = await stores.status({ signal });
    if (own.online) out.set(nodeUuid, { node: nodeUuid, free: Math.max(0, own.free) });
    await Promise.all(
      trust.list().map(async ({ nodeUuid: peer }) => {
        const timeout = AbortSignal.any([signal, AbortSignal.timeout(PROBE_MS)]);
        try {
          const status = await (await connect(peer, timeout)).status({ signal: timeout });
          this.#unreachableSince.delete(peer);
          if (status.online)
            out.set(peer, {
              node: peer,
              free: Number.isSafeInteger(status.free) ? Math.max(0, status.free) : 0,
            });
        } catch (err) {
          if (isProgrammingError(err)) throw err;
          if (!this.#unreachableSince.has(peer)) this.#unreachableSince.set(peer, this.#now());
        }
      }),
    );
    signal.throwIfAborted();
    return out;
  }

  /** Whether a node's copies count no more: removed by a person (at once), or unreachable too long. */
  #goneTest(online: Map<string, NodeSpace>, now: boolean): (node: string) => boolean {
    const { trust, nodeUuid, goneMs } = this.#options;
    const at = this.#now();
    return (node) => {
      if (node === nodeUuid || online.has(node)) return false;
      if (trust.get(node) === undefined) return true;
      const since = this.#unreachableSince.get(node);
      return since !== undefined && (now || at - since >= goneMs);
    };
  }

  /**
   * An erasure-coded chunk (docs/repair.md "Erasure-coded files"): when this node is its repairer and
   * a shard is missing, a node holding no shard of the chunk is asked to rebuild it from K others.
   */
  async #rebuildShards(
    item: { index: IndexFile; data: number; parity: number; chunk: IndexChunk },
    online: Map<string, NodeSpace>,
    gone: (node: string) => boolean,
    report: RepairResult,
    signal: AbortSignal,
  ): Promise<void> {
    signal.throwIfAborted();
    const { catalog, nodeUuid } = this.#options;
    const { index, chunk } = item;
    const shards = storedObjects(chunk);
    const holders = shards.map((s) => [
      ...new Set([...s.holders.map((h) => h.node), ...catalog.store.holdersOf(s.uuid)]),
    ]);
    if (!holders.some((list) => list.includes(nodeUuid))) return;
    const states = await Promise.all(
      shards.map(async (s, k) => {
        const map = new Map<string, CopyState>();
        for (const node of holders[k]!) {
          map.set(
            node,
            await this.#state(node, s.uuid, { sha256: s.sha256, size: s.size }, online, gone, signal),
          );
        }
        return map;
      }),
    );
    report.chunks++;
    const verdict = judgeShards({ data: item.data, shards: states });
    if (verdict.repairer !== nodeUuid || verdict.missing.length === 0) return;
    report.underReplicated++;
    if (!verdict.rebuildable) {
      report.stillShort++;
      if (report.failures.length < MAX_FAILURES) {
        report.failures.push({
          chunk: chunk.uuid,
          node: nodeUuid,
          code: 'ERR_DATA_LOST',
          message: `Chunk ${chunk.i} of file ${index.id} has ${verdict.good} good shards; ${item.data} rebuild it`,
        });
      }
      return;
    }
    // A new shard goes to a node that holds none of this chunk's shards, whatever their state.
    const exclude = new Set(holders.flat());
    const sources = shards.flatMap((s, k) =>
      verdict.sources[k]!.length > 0
        ? [{ k, uuid: s.uuid, sha256: s.sha256, from: verdict.sources[k]!.slice(0, 4) }]
        : [],
    );
    for (const k of verdict.missing) {
      const shard = shards[k]!;
      let made = false;
      for (const target of newHolders([...online.values()], exclude, index.id, chunk.i, shard.size)) {
        try {
          const answer = await askRebuild(
            { uuid: target, session: (s) => this.#options.pool.session(target, { signal: s }) },
            {
              shard: { k, uuid: shard.uuid, sha256: shard.sha256, size: shard.size },
              data: item.data,
              parity: item.parity,
              chunkSize: chunk.size + (isSealed(index) ? SEALED_OVERHEAD : 0),
              sources: sources.slice(0, 16),
            },
            { signal },
          );
          exclude.add(target);
          made = true;
          report.copies++;
          report.bytes += answer.bytes;
          this.counts.copies++;
          this.counts.bytes += answer.bytes;
          const space = online.get(target);
          if (space !== undefined) space.free -= shard.size;
          await catalog.sync(target).catch(() => {});
          break;
        } catch (err) {
          if (isProgrammingError(err) || signal.aborted) throw err;
          exclude.add(target);
          if (report.failures.length < MAX_FAILURES)
            report.failures.push({
              chunk: shard.uuid,
              node: target,
              code: err instanceof ArozError ? err.code : 'ERR_INTERNAL',
              message: (err as Error).message,
            });
        }
      }
      if (!made) report.stillShort++;
    }
  }

  async #state(
    node: string,
    chunk: string,
    expect: { sha256: string; size: number },
    online: Map<string, NodeSpace>,
    gone: (node: string) => boolean,
    signal: AbortSignal,
  ): Promise<CopyState> {
    if (gone(node)) return 'gone';
    if (node !== this.#options.nodeUuid && !online.has(node)) return 'away';
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(PROBE_MS)]);
    try {
      const info = await (await this.#options.connect(node, timeout)).head(chunk, { signal: timeout });
      return info !== undefined && info.sha256 === expect.sha256 && info.size === expect.size
        ? 'good'
        : 'bad';
    } catch (err) {
      if (isProgrammingError(err) || signal.aborted) throw err;
      return 'away';
    }
  }
}
