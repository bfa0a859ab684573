/**
 * `arozdfs merge INDEX [--chunks DIR] [--out FILE] [--force]` (alias `open`): rebuild a file from its
 * index and chunk files, verified. Default chunk folder: the index's folder; default output: the file
 * name from the index in the current folder. Result fields: docs/cli-json.md.
 */
import { resolve } from 'node:path';
import { mergeFile } from '../chunk/index.ts';
import { formatRate, formatSize } from '../size.ts';
import type { Register } from './context.ts';

interface MergeCliOptions {
  chunks?: string;
  out?: string;
  force?: boolean;
}

export const register: Register = (program, action) => {
  program
    .command('merge <index>')
    .alias('open')
    .description('rebuild a file from its index and chunks, verified')
    .option('--chunks <dir>', "chunk folder (default: the index's folder)")
    .option('--out <file>', 'output file (default: the file name from the index, in the current folder)')
    .option('--force', 'replace an existing output file')
    .action(
      action<[string], MergeCliOptions>(async (ctx, [indexPath], options) => {
        const started = performance.now();
        const { index, out, chunksDir } = await mergeFile(indexPath, {
          ...(options.chunks === undefined ? {} : { chunksDir: options.chunks }),
          ...(options.out === undefined ? {} : { out: options.out }),
          force: options.force === true,
          signal: ctx.signal,
          onProgress: (event) => ctx.out.progress(event),
        });
        const seconds = (performance.now() - started) / 1000;
        const { size, sha256, name } = index.file;
        const count = index.chunks.length;
        ctx.out.result(
          {
            command: 'merge',
            out,
            index: resolve(indexPath),
            chunksDir,
            id: index.id,
            name,
            size,
            sha256,
            chunks: count,
            seconds: Math.round(seconds * 1000) / 1000,
          },
          [
            `Rebuilt "${out}" (${formatSize(size)}) from ${count} verified chunk${count === 1 ? '' : 's'} ` +
              `in ${seconds.toFixed(2)} s${formatRate(size, seconds)}.`,
            `SHA-256: ${sha256} (matches the index)`,
          ].join('\n'),
        );
      }),
    );
};
