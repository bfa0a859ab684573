/**
 * The plan of an upload — index id, chunk UUIDs, planned targets — made fresh and journaled before the
 * first byte moves, or taken back from the journal of an interrupted run after checking that it was
 * made for this very upload of this very file. Also the cleanup of a failed upload's copies.
 */
import type { OpenedFile } from '../chunk/files.ts';
import { ArozError } from '../errors.ts';
import { type ChunkLists, givenLists, spreadLists } from '../placement/index.ts';
import { newUuid } from '../uuid.ts';
import { idle } from './idle.ts';
import { type CopyRecord, journalError, type UploadJournal, type UploadPlan } from './journal.ts';
import { RunNodes } from './nodes.ts';
import { replicas } from './redundancy.ts';
import type { Connect } from './types.ts';

export interface PlanRequest {
  /** Absolute path of the file. */
  path: string;
  chunkSize: number;
  nodes: readonly string[];
  /** Spread placement: each node's free bytes (0: no copy), in the order of `nodes`. */
  free: readonly number[] | undefined;
  shift: number;
  copies: number;
  /** Erasure coding: each pass is a shard (`copies` is K + M). */
  ec?: { data: number; parity: number };
  journal: UploadJournal | undefined;
}

/** The chunk lists of a plan: spread by its index id and free space, or its nodes as given. */
function planLists(plan: UploadPlan): ChunkLists {
  const { free } = plan;
  if (free === undefined) return givenLists(plan.nodes);
  const nodes = plan.nodes.map((node, k) => ({ node, free: free[k]! }));
  return spreadLists(nodes, plan.indexId, plan.copies, plan.shift);
}

export async function planUpload(
  source: OpenedFile,
  want: PlanRequest,
): Promise<{ plan: UploadPlan; lists: ChunkLists; records: Map<number, CopyRecord[]> }> {
  const count = Math.ceil(source.size / want.chunkSize);
  const mtimeNs = String(source.mtimeNs);
  const state = await want.journal?.load();
  if (state === undefined) {
    const plan: UploadPlan = {
      indexId: newUuid(),
      createdAt: new Date().toISOString(),
      file: { path: want.path, size: source.size, mtimeNs },
      chunkSize: want.chunkSize,
      nodes: [...want.nodes],
      ...(want.free !== undefined ? { free: [...want.free] } : {}),
      shift: want.shift,
      copies: want.copies,
      ...(want.ec !== undefined ? { ec: { ...want.ec } } : {}),
      chunks: [],
    };
    const lists = planLists(plan);
    plan.chunks = Array.from({ length: count }, (_, i) => ({
      i,
      uuid: newUuid(),
      targets: replicas(want.copies).targets(lists(i), 0, want.shift),
    }));
    await want.journal?.writePlan(plan);
    return { plan, lists, records: new Map() };
  }
  const { plan } = state;
  const same =
    plan.file.path === want.path &&
    plan.chunkSize === want.chunkSize &&
    plan.shift === want.shift &&
    plan.copies === want.copies &&
    plan.ec?.data === want.ec?.data &&
    plan.ec?.parity === want.ec?.parity &&
    plan.nodes.length === want.nodes.length &&
    plan.nodes.every((node, k) => node === want.nodes[k]) &&
    plan.free?.length === want.free?.length &&
    (plan.free ?? []).every((free, k) => free === want.free?.[k]);
  if (!same) {
    throw journalError(
      `of the upload of "${want.path}"`,
      'was written for another upload (file, chunk size, nodes, free space, shift or copies differ)',
    );
  }
  if (plan.file.size !== source.size || plan.file.mtimeNs !== mtimeNs) {
    throw new ArozError(
      'ERR_FILE_CHANGED',
      `"${want.path}" changed since its upload began (size or modification time differ); start a new upload`,
    );
  }
  if (plan.chunks.length !== count || plan.chunks.some((c) => c.targets.length !== want.copies)) {
    throw journalError(`of the upload of "${want.path}"`, 'does not match the file');
  }
  const records = new Map<number, CopyRecord[]>();
  for (const record of state.copies) {
    if (record.i >= count || record.pass >= want.copies) {
      throw journalError(`of the upload of "${want.path}"`, `records a copy outside the plan`);
    }
    records.set(record.i, [...(records.get(record.i) ?? []), record]);
  }
  return { plan, lists: planLists(plan), records };
}

/**
 * Deletes the copies a failed upload created (best effort, bounded by `idleMs`): without an index
 * nothing refers to them. Failures are ignored; garbage collection is the later safety net.
 */
export async function removeCopies(
  connect: Connect,
  created: ReadonlyArray<{ node: string; uuid: string }>,
  by: string,
  idleMs: number,
): Promise<void> {
  if (created.length === 0) return;
  const signal = AbortSignal.timeout(idleMs);
  const nodes = new RunNodes(connect, signal, idleMs);
  await Promise.allSettled(
    created.map(async ({ node, uuid }) => {
      const store = await nodes.store(node);
      await idle(store.delete(uuid, { by, signal }), {
        ms: idleMs,
        signal,
        doing: `Deleting chunk "${uuid}"`,
        timeout: () => new ArozError('ERR_TIMEOUT', `Node "${node}" did not delete chunk "${uuid}" in time`),
      });
    }),
  );
}
