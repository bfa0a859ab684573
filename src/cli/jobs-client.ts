/**
 * Submitting a job to the local daemon and following it: progress on a bar or as JSON lines, the
 * job's result (or its error, with the job's own code) at the end. Ctrl-C while following cancels
 * the job; `--detach` returns the job id at once and leaves it running.
 */
import { controlCall } from '../control/client.ts';
import { ArozError, ERROR_CODES, type ErrorCode, isArozError } from '../errors.ts';
import type { JobProgress, JobRecord } from '../jobs/types.ts';
import type { JobKind } from '../ops/jobs.ts';
import type { CliContext } from './context.ts';

export async function submitJob(
  ctx: CliContext,
  kind: JobKind,
  params: Record<string, unknown>,
): Promise<JobRecord> {
  return (await controlCall(
    ctx.home,
    'POST',
    '/v1/jobs',
    { kind, params },
    { signal: ctx.signal },
  )) as JobRecord;
}

/** Follows a job to its end; throws the job's error if it failed or was cancelled. */
export async function followJob(
  ctx: CliContext,
  id: string,
  options: { cancelOnInterrupt: boolean },
): Promise<JobRecord> {
  let final: JobRecord | undefined;
  let shown: JobProgress | undefined;
  const show = (p: JobProgress) => {
    shown = p;
    ctx.out.progress({
      phase: p.phase,
      done: p.done,
      total: p.total,
      ...(p.chunksDone !== undefined ? { chunksDone: p.chunksDone } : {}),
      ...(p.chunks !== undefined ? { chunks: p.chunks } : {}),
      ...(p.files !== undefined ? { filesDone: p.filesDone ?? 0, files: p.files } : {}),
    });
  };
  try {
    const last = (await controlCall(ctx.home, 'GET', `/v1/jobs/wait/${id}`, undefined, {
      signal: ctx.signal,
      timeoutMs: 2 ** 31 - 1,
      onLine: (line) => {
        if (line['type'] === 'progress') show(line as unknown as JobProgress);
      },
    })) as { job: JobRecord };
    final = last.job;
  } catch (err) {
    if (ctx.signal.aborted && options.cancelOnInterrupt) {
      await controlCall(ctx.home, 'POST', `/v1/jobs/cancel/${id}`).catch(() => {});
      throw new ArozError('ERR_INTERRUPTED', `Interrupted: job ${id} was cancelled`);
    }
    // The daemon went away while answering (not: was never there). The job resumes at its next start.
    const refused = ['ENOENT', 'ECONNREFUSED'].includes(
      String((err as { cause?: { code?: unknown } }).cause?.code),
    );
    if (isArozError(err, 'ERR_DAEMON_UNREACHABLE') && !refused) {
      throw new ArozError(
        'ERR_DAEMON_UNREACHABLE',
        `The daemon stopped while job ${id} ran; the job resumes when the daemon starts again (follow it with "arozdfs jobs wait ${id}")`,
        { cause: err },
      );
    }
    throw err;
  }
  if (final.state !== 'done') throw jobError(final);
  // The daemon throttles progress lines; the one that says the work is finished is always shown.
  const p = final.progress;
  if (
    p !== undefined &&
    (shown?.done !== p.done || shown.chunksDone !== p.chunksDone || shown.filesDone !== p.filesDone)
  )
    show(p);
  return final;
}

function jobError(job: JobRecord): ArozError {
  const code = job.error?.code;
  const known: ErrorCode =
    code !== undefined && Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : 'ERR_IO';
  if (job.state === 'cancelled') return new ArozError('ERR_INTERRUPTED', `Job ${job.id} was cancelled`);
  return new ArozError(known, job.error?.message ?? `Job ${job.id} failed`);
}
