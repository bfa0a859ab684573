/**
 * Every kind of job of the registry (src/ops/jobs.ts) with its runner: the lone transfers
 * (transfers.ts), the batches (batch-jobs.ts) and the repair pass; parameters parsed, results typed.
 */
import type { JobContext, JobRunner } from '../jobs/types.ts';
import {
  JOB_KINDS,
  type JobKind,
  type JobParams,
  type JobResults,
  type RepairParams,
  type RepairResult,
} from '../ops/jobs.ts';
import { downloadBatchRunner, uploadBatchRunner } from './batch-jobs.ts';
import { downloadRunner, type TransferParts, uploadRunner } from './transfers.ts';

/** The runner of every kind of the job registry: its parameters parsed, its result typed. */
export function jobRunners(parts: TransferParts): Record<JobKind, JobRunner> {
  const runners: { [K in JobKind]: (params: JobParams[K], ctx: JobContext) => Promise<JobResults[K]> } = {
    upload: uploadRunner(parts),
    download: downloadRunner(parts),
    'upload-batch': uploadBatchRunner(parts),
    'download-batch': downloadBatchRunner(parts),
    repair: (params: RepairParams, ctx: JobContext): Promise<RepairResult> =>
      parts.repair.pass({
        signal: ctx.signal,
        now: params.now,
        ...(params.file !== undefined ? { file: params.file } : {}),
        onProgress: (done, total) => ctx.onProgress({ phase: 'repair', done, total }),
      }),
  };
  const parsed = <K extends JobKind>(kind: K): JobRunner => {
    const parse = JOB_KINDS[kind].parse as (raw: Record<string, unknown>) => JobParams[K];
    return (raw, ctx) => runners[kind](parse(raw), ctx);
  };
  return {
    upload: parsed('upload'),
    download: parsed('download'),
    repair: parsed('repair'),
    'upload-batch': parsed('upload-batch'),
    'download-batch': parsed('download-batch'),
  };
}
