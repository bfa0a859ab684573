/**
 * The batch side of `arozdfs upload PATH…` and `arozdfs download FOLDER`: one job in the daemon for
 * many files (`upload-batch`, `download-batch`), one progress bar (files and bytes), one result with
 * a line per file. A file that fails is reported and the others go on; the command then exits with
 * ERR_BATCH_INCOMPLETE after printing the result (docs/cli-json.md).
 */
import { join, resolve } from 'node:path';
import { checkOutput } from '../chunk/merge.ts';
import { controlCall } from '../control/client.ts';
import { ArozError } from '../errors.ts';
import { type BatchFileResult, jobResult } from '../ops/jobs.ts';
import type { ClusterFile } from '../ops/types.ts';
import type { CliContext } from './context.ts';
import {
  type DownloadOptions,
  idleOption,
  nodeNames,
  run,
  type UploadOptions,
  uploadParams,
} from './job-run.ts';
import { planBatch } from './walk.ts';

/** At most this many failed files are listed for people (`--json` lists them all). */
const SHOWN_FAILURES = 20;

function failedLines(files: readonly BatchFileResult[]): string[] {
  const failed = files.filter((f) => f.state === 'failed');
  return [
    ...failed
      .slice(0, SHOWN_FAILURES)
      .map((f) => `  failed: "${f.name}": ${f.error?.message ?? ''} (${f.error?.code ?? ''})`),
    ...(failed.length > SHOWN_FAILURES ? [`  … and ${failed.length - SHOWN_FAILURES} more failed`] : []),
  ];
}

function incomplete(failed: number, all: number, what: string): ArozError {
  return new ArozError('ERR_BATCH_INCOMPLETE', `${failed} of ${all} files could not be ${what}`);
}

export async function uploadBatch(ctx: CliContext, paths: string[], options: UploadOptions): Promise<void> {
  if (options.index !== undefined) {
    throw new ArozError('ERR_USAGE', '--index is for one file; a batch keeps each index in the catalog');
  }
  const plan = await planBatch(paths);
  const skipped = plan.skipped;
  if (plan.files.length === 0) {
    throw new ArozError(
      'ERR_NOT_FOUND',
      `No file to upload in ${paths.map((p) => `"${p}"`).join(', ')}${plan.failed.length > 0 ? ` (${plan.failed.length} failed)` : ''}`,
    );
  }
  const params = {
    files: plan.files,
    ...uploadParams(options),
  };
  // Detached, what the CLI itself found is in the answer: the job's result has the rest.
  const job = await run(ctx, 'upload-batch', params, options.detach === true, {
    skipped,
    failed: plan.failed,
  });
  if (job === undefined) return;
  const result = jobResult('upload-batch', job);
  const files = [...(result.files ?? []), ...plan.failed];
  const failed = files.filter((f) => f.state === 'failed').length;
  const names = await nodeNames(ctx);
  ctx.out.result(
    {
      job: job.id,
      stored: result.stored ?? 0,
      failed,
      bytes: result.bytes ?? 0,
      copies: result.copies,
      cluster: result.cluster ?? [],
      files,
      skipped,
    },
    [
      `Stored ${result.stored ?? 0} of ${files.length} files (${result.bytes ?? 0} bytes), each chunk on ${String(result.copies)} of: ${(result.cluster ?? []).map(names).join(', ')}.`,
      ...failedLines(files),
      ...skipped.map(
        (s) => `  skipped: "${s.name}" (${s.reason === 'symlink' ? 'a symlink' : 'an empty folder'})`,
      ),
      'Their indexes are in the catalog ("arozdfs ls", "arozdfs index export NAME").',
    ].join('\n'),
  );
  if (failed > 0) throw incomplete(failed, files.length, 'stored');
}

/** Whether the catalog has files under folder `path`. */
async function folderFiles(ctx: CliContext, path: string): Promise<ClusterFile[]> {
  const { files } = (await controlCall(
    ctx.home,
    'POST',
    '/v1/files/under',
    { path },
    { signal: ctx.signal },
  )) as { files: ClusterFile[] };
  return files;
}

/**
 * `download FOLDER [--out DIR]`: every file under the folder, into DIR (default: the folder's last
 * name here) at its path in the folder; each verified as a lone download is, none left partial.
 */
export async function downloadFolder(ctx: CliContext, ref: string, options: DownloadOptions): Promise<void> {
  const folder = ref.replace(/^\/+|\/+$/g, '');
  const files = await folderFiles(ctx, folder);
  const out = resolve(options.out ?? folder.slice(folder.lastIndexOf('/') + 1));
  const force = options.force === true;
  const prefix = `${folder}/`;
  const entries = files.map((f) => ({ file: f.id, out: join(out, f.name.slice(prefix.length)) }));
  const twice = files.find((f, i) => files.findIndex((g) => g.name === f.name) !== i);
  if (twice !== undefined) {
    throw new ArozError(
      'ERR_NAME_AMBIGUOUS',
      `Several files of folder "${folder}" are named "${twice.name}": download them one by one by id`,
    );
  }
  for (const entry of entries) await checkOutput(entry.out, force, `Cannot download folder "${folder}"`);
  const params = {
    files: entries,
    force,
    allowUntrusted: options.allowUntrustedIndex === true,
    ...idleOption(options.idleMs),
  };
  const job = await run(ctx, 'download-batch', params, options.detach === true);
  if (job === undefined) return;
  const result = jobResult('download-batch', job);
  const results = result.files ?? [];
  const failed = result.failed ?? 0;
  ctx.out.result(
    {
      job: job.id,
      out,
      downloaded: result.downloaded ?? 0,
      failed,
      bytes: result.bytes ?? 0,
      files: results,
    },
    [
      `Downloaded and verified ${result.downloaded ?? 0} of ${results.length} files of "${folder}" into "${out}" (${result.bytes ?? 0} bytes).`,
      ...failedLines(results),
    ].join('\n'),
  );
  if (failed > 0) throw incomplete(failed, results.length, 'downloaded');
}
