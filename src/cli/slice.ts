/**
 * `arozdfs slice FILE [--chunk-size SIZE] [--out DIR]`: chunk files + index.json into DIR (default
 * `FILE.chunks/`). Result fields: docs/cli-json.md.
 */
import { sliceFile } from '../chunk/index.ts';
import { DEFAULT_CHUNK_SIZE } from '../index-file/types.ts';
import { formatRate, formatSize, parseChunkSize } from '../size.ts';
import type { Register } from './context.ts';

interface SliceCliOptions {
  chunkSize?: string;
  out?: string;
}

export const register: Register = (program, action) => {
  program
    .command('slice <file>')
    .description('cut a file into chunks and write index.json beside them')
    .option('--chunk-size <size>', 'chunk size: bytes or 64MiB, 64M, 1GiB … (default 64MiB)')
    .option('--out <dir>', 'output folder (default FILE.chunks/); may exist if it holds no index.json')
    .action(
      action<[string], SliceCliOptions>(async (ctx, [file], options) => {
        const chunkSize =
          options.chunkSize === undefined ? DEFAULT_CHUNK_SIZE : parseChunkSize(options.chunkSize);
        const started = performance.now();
        const { index, indexPath, outDir } = await sliceFile(file, {
          chunkSize,
          ...(options.out === undefined ? {} : { outDir: options.out }),
          signal: ctx.signal,
          onProgress: (event) => ctx.out.progress(event),
        });
        const seconds = (performance.now() - started) / 1000;
        const { size, sha256, name } = index.file;
        const count = index.chunks.length;
        const last = index.chunks.at(-1);
        const shape =
          count === 0
            ? 'no chunks (the file is empty)'
            : `${count} chunk${count === 1 ? '' : 's'} of ${formatSize(chunkSize)}` +
              (last !== undefined && last.size !== chunkSize ? ` (the last ${formatSize(last.size)})` : '');
        ctx.out.result(
          {
            command: 'slice',
            index: indexPath,
            dir: outDir,
            id: index.id,
            name,
            size,
            sha256,
            chunkSize,
            chunks: count,
            seconds: round(seconds),
          },
          [
            `Sliced "${file}" (${formatSize(size)}) into ${shape} in ${seconds.toFixed(2)} s${formatRate(size, seconds)}.`,
            `Index:   ${indexPath}`,
            `SHA-256: ${sha256}`,
          ].join('\n'),
        );
      }),
    );
};

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
