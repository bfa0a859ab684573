/**
 * `arozdfs upload` and `arozdfs download`: both run as jobs in the local daemon (which holds the
 * connections to the other nodes); the CLI submits the job and follows it, or with `--detach` returns
 * its id at once. Paths are sent absolute. What can be checked here is checked before the job is made
 * (the options, the file to upload, the index to download and its signature, the output path), so a
 * mistake makes no failed job.
 */
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { openRegularFile } from '../chunk/files.ts';
import { checkOutput } from '../chunk/merge.ts';
import { ArozError, isArozError } from '../errors.ts';
import { NodeHome } from '../home/open.ts';
import { type IndexFile, isDistributedIndex, readIndexFile } from '../index-file/index.ts';
import { verifyIndex } from '../keys/index-signature.ts';
import { jobResult } from '../ops/jobs.ts';
import type { ClusterFile } from '../ops/types.ts';
import { DEFAULT_IDLE_MS } from '../transfer/types.ts';
import { downloadFolder, uploadBatch } from './batch.ts';
import type { CliContext, Register } from './context.ts';
import { findFile, isCatalogFolder } from './files.ts';
import {
  type DownloadOptions,
  idleOption,
  nodeNames,
  run,
  type UploadOptions,
  uploadParams,
} from './job-run.ts';

/**
 * What the CLI checks itself before it asks the daemon for a job, so a mistake makes no failed job:
 * the file to upload is a regular file this user can open.
 */
async function checkSource(file: string): Promise<void> {
  const opened = await openRegularFile(file, `Cannot upload "${file}"`);
  await opened.fh.close();
}

/** …and the index to download is distributed and, unless allowed, signed by a key this node trusts. */
async function checkDownloadIndex(ctx: CliContext, index: IndexFile, allowUntrusted: boolean): Promise<void> {
  const what = `Cannot download "${index.file.name}"`;
  if (!isDistributedIndex(index)) {
    throw new ArozError('ERR_INDEX_INVALID', `${what}: index "${index.id}" is a local index; use merge`);
  }
  if (allowUntrusted) return;
  const home = await NodeHome.open(ctx.home);
  try {
    verifyIndex(index, await home.indexSigners());
  } catch (err) {
    if (!isArozError(err, 'ERR_INDEX_UNTRUSTED')) throw err;
    throw new ArozError('ERR_INDEX_UNTRUSTED', `${what}: ${err.message}`, { cause: err });
  }
}

/** Whether `path` is a folder (following a symlink). */
async function isFolder(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

/**
 * What `download NAME` names when no index file is there: a file of the catalog, else a folder;
 * undefined for something that looks like a path (its index file is read, and says what is wrong).
 */
async function findFileOrFolder(ctx: CliContext, ref: string): Promise<ClusterFile | 'folder' | undefined> {
  try {
    return await findFile(ctx, ref);
  } catch (err) {
    if (!isArozError(err, 'ERR_NOT_FOUND') && !isArozError(err, 'ERR_BAD_REQUEST')) throw err;
    if (await isCatalogFolder(ctx, ref)) return 'folder';
    if (ref.includes('/') || ref.endsWith('.json')) return undefined;
    throw err;
  }
}

export const register: Register = (program, action) => {
  program
    .command('upload <paths...>')
    .description(
      'store files on the cluster (every chunk on two nodes): one file writes its signed index here; several files or folders are one batch job (names keep the path in the folder)',
    )
    .option('--chunk-size <size>', 'chunk size (default 64MiB)')
    .option('--shift <x>', 'the second copy goes x places further along the cluster list (default 1)')
    .option('--copies <r>', 'copies of every chunk, on distinct nodes (default 2)')
    .option(
      '--ec <K+M>',
      'erasure coding instead of copies: K data + M parity shards per chunk on K+M nodes (e.g. 2+1)',
    )
    .option('--encrypt', 'seal every chunk on this node before it leaves (AES-256-GCM, a fresh key per file)')
    .option(
      '--readers <uuids>',
      'with --encrypt: the nodes that may decrypt, comma-separated (default: every trusted node)',
    )
    .option(
      '--nodes <uuids>',
      'cluster list, used in this order, comma-separated (default: every online trusted node and this one, copies spread by free space)',
    )
    .option('--index <out>', 'where to write the index file of one file (default: FILE_NAME.index.json here)')
    .option('--force', 'replace an existing index file')
    .option(
      '--idle-ms <ms>',
      `give up on a node that makes no progress for this long (default ${DEFAULT_IDLE_MS})`,
    )
    .option('--detach', 'return the job id at once')
    .action(
      action<[string[]], UploadOptions>(async (ctx, [paths], options) => {
        const [fileArg] = paths;
        if (paths.length !== 1 || fileArg === undefined || (await isFolder(fileArg))) {
          await uploadBatch(ctx, paths, options);
          return;
        }
        const file = resolve(fileArg);
        const index = resolve(options.index ?? `${basename(file)}.index.json`);
        const params = {
          file,
          index,
          force: options.force === true,
          ...uploadParams(options),
        };
        await checkSource(file);
        await checkOutput(index, options.force === true, 'Cannot write the index');
        const job = await run(ctx, 'upload', params, options.detach === true);
        if (job === undefined) return;
        const result = jobResult('upload', job);
        const names = await nodeNames(ctx);
        const placement = result.placement ?? [];
        ctx.out.result(
          { job: job.id, ...result },
          [
            `Stored "${file}" as ${placement.length} chunk(s), each on ${String(result.copies)} node(s):`,
            ...placement.slice(0, 20).map((c) => `  chunk ${c.i} → ${c.holders.map(names).join(', ')}`),
            ...(placement.length > 20 ? [`  … and ${placement.length - 20} more`] : []),
            `Index: ${String(result.index)} (keep it: it is the way back to the file)`,
          ].join('\n'),
        );
      }),
    );

  program
    .command('download <index-or-name>')
    .description(
      'fetch, verify and rebuild a file from the cluster: an existing index file, else a name or id of the catalog',
    )
    .option('--out <file>', 'output file (default: the name in the index, in the current folder)')
    .option('--force', 'replace an existing output file')
    .option('--allow-untrusted-index', 'accept an unsigned index or one signed by an unknown key')
    .option(
      '--idle-ms <ms>',
      `give up on a node that makes no progress for this long (default ${DEFAULT_IDLE_MS})`,
    )
    .option('--detach', 'return the job id at once')
    .action(
      action<[string], DownloadOptions>(async (ctx, [indexArg], options) => {
        const indexPath = resolve(indexArg);
        const idle = idleOption(options.idleMs);
        const allowUntrusted = options.allowUntrustedIndex === true;
        // A file here, or a path from "/", "./" or "../", is an index file; else a name or id of the
        // catalog, else a folder of the catalog, else (with a "/") an index file after all.
        let source: { index: string } | { file: string };
        let index: { file: { name: string; size: number; sha256: string } };
        const local = await stat(indexPath).catch(() => undefined);
        const path = local?.isFile() === true || /^\.{0,2}\//.test(indexArg);
        const found = path ? undefined : await findFileOrFolder(ctx, indexArg);
        if (found === 'folder') {
          await downloadFolder(ctx, indexArg, options);
          return;
        }
        if (found === undefined) {
          const read = await readIndexFile(indexPath, { signal: ctx.signal });
          await checkDownloadIndex(ctx, read, allowUntrusted);
          source = { index: indexPath };
          index = read;
        } else {
          source = { file: found.id };
          index = { file: found };
        }
        const out = resolve(options.out ?? index.file.name);
        await checkOutput(out, options.force === true, `Cannot download "${index.file.name}"`);
        const params = {
          ...source,
          out,
          force: options.force === true,
          allowUntrusted,
          ...idle,
        };
        const job = await run(ctx, 'download', params, options.detach === true);
        if (job === undefined) return;
        ctx.out.result(
          { job: job.id, ...(job.result ?? {}) },
          `Downloaded and verified "${out}" (${index.file.size} bytes, SHA-256 ${index.file.sha256}).`,
        );
      }),
    );
};
