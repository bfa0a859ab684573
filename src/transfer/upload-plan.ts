/**
 * The plan of an upload — index id, chunk UUIDs, planned targets — made fresh and journaled before the
 * first byte moves, or taken back from the journal of an interrupted run after checking that it was
 * made for this very upload of this very file. Also the cleanup of a failed upload's copies.
 */
import type { OpenedFile } from '../chunk/files.ts';
import { ArozError } from '../errors.ts';
import { targets } from '../placement/index.ts';
import { newUuid } from '../uuid.ts';
import { idle } from './idle.ts';
import { type CopyRecord, journalError, type UploadJournal, type UploadPlan } from './journal.ts';
import { RunNodes } from './nodes.ts';
import type { Connect } from './types.ts';

export interface PlanRequest {
  /** Absolute path of the file. */
  path: string;
  chunkSize: number;
  nodes: readonly string[];
  shift: number;
  copies: number;
  journal: UploadJournal | undefined;
}

export async function planUpload(
  source: OpenedFile,
  want: PlanRequest,
): Promise<{ plan: UploadPlan; records: Map<number, CopyRecord[]> }> {
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
      shift: want.shift,
      copies: want.copies,
      chunks: Array.from({ length: count }, (_, i) => ({
        i,
        uuid: newUuid(),
        targets: targets(want.nodes, i, want.shift, want.copies),
      })),
    };
    await want.journal?.writePlan(plan);
    return { plan, records: new Map() };
  }
  const { plan } = state;
  const same =
    plan.file.path === want.path &&
    plan.chunkSize === want.chunkSize &&
    plan.shift === want.shift &&
    plan.copies === want.copies &&
    plan.nodes.length === want.nodes.length &&
    plan.nodes.every((node, k) => node === want.nodes[k]);
  if (!same) {
    throw journalError(
      `of the upload of "${want.path}"`,
      'was written for another upload (file, chunk size, nodes, shift or copies differ)',
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
  return { plan, records };
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
