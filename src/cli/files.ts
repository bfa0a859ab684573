/**
 * `arozdfs ls`, `arozdfs rm NAME|ID` and `arozdfs index export NAME|ID --out FILE`: the cluster's
 * files as the local daemon's catalog knows them (docs/catalog.md). `ls` makes no network round
 * trip; `rm` (this node's uploads only) asks for the file's name on a terminal unless `--yes`.
 */
import { resolve } from 'node:path';
import { checkOutput } from '../chunk/merge.ts';
import { controlCall } from '../control/client.ts';
import { writeFileAtomic } from '../durable/index.ts';
import { encodeIndex, type IndexFile } from '../index-file/index.ts';
import type { ClusterFile } from '../ops/types.ts';
import { formatSize } from '../size.ts';
import type { CliContext, Register } from './context.ts';
import { Prompts } from './prompt.ts';
import { table } from './table.ts';

/** The one file of the catalog a name or id names (ERR_NOT_FOUND, ERR_NAME_AMBIGUOUS). */
export async function findFile(ctx: CliContext, ref: string): Promise<ClusterFile> {
  return (await controlCall(
    ctx.home,
    'POST',
    '/v1/files/find',
    { ref },
    { signal: ctx.signal },
  )) as ClusterFile;
}

function uploaderOf(f: ClusterFile): string {
  const name = f.uploaderName ?? '';
  return `${name === '' ? '' : `${name} `}(${f.uploader.slice(0, 8)})${f.mine ? ' *' : ''}`;
}

export const register: Register = (program, action) => {
  program
    .command('ls')
    .description("list the cluster's files (from this node's catalog)")
    .action(
      action<[], Record<string, never>>(async (ctx) => {
        const { files } = (await controlCall(ctx.home, 'GET', '/v1/files', undefined, {
          signal: ctx.signal,
        })) as { files: ClusterFile[] };
        if (files.length === 0) {
          ctx.out.result({ files }, 'No files in the cluster yet ("arozdfs upload FILE" stores one).');
          return;
        }
        const rows = files.map((f) => [
          f.name,
          formatSize(f.size),
          uploaderOf(f),
          f.uploadedAt.replace(/\.\d+Z$/, 'Z'),
          // Older daemons: copies only.
          `${f.redundancy ?? String(f.copies)}${f.encrypted === true ? ' sealed' : ''}`,
          f.health ?? '-',
          f.id,
        ]);
        ctx.out.result(
          { files },
          `${table(['NAME', 'SIZE', 'UPLOADER', 'UPLOADED', 'COPIES', 'HEALTH', 'ID'], rows)}\n(* uploaded by this node)`,
        );
      }),
    );

  program
    .command('rm <name-or-id>')
    .description('delete a file this node uploaded, on every node (its copies go to the trash)')
    .option('--yes', 'do not ask to confirm')
    .action(
      action<[string], { yes?: boolean }>(async (ctx, [ref], options) => {
        const file = await findFile(ctx, ref);
        await new Prompts(ctx).confirm({
          yes: options.yes === true,
          what: `Deleting "${file.name}"`,
          expected: file.name,
          question: `Delete "${file.name}" (${formatSize(file.size)}, id ${file.id}) on every node?\nType its name to delete it: `,
        });
        const removed = (await controlCall(
          ctx.home,
          'POST',
          '/v1/files/remove',
          { ref: file.id },
          { signal: ctx.signal },
        )) as { id: string; name: string; deletedAt: string };
        ctx.out.result(
          { ...removed, deleted: true },
          `Deleted "${removed.name}" (${removed.id}): every node that holds a copy moves it to its trash.`,
        );
      }),
    );

  const index = program.command('index').description('index files of the catalog');
  index
    .command('export <name-or-id>')
    .description("write the file's signed index (its newest revision) to a file")
    .requiredOption('--out <file>', 'where to write the index')
    .option('--force', 'replace an existing file')
    .action(
      action<[string], { out: string; force?: boolean }>(async (ctx, [ref], options) => {
        const out = resolve(options.out);
        await checkOutput(out, options.force === true, 'Cannot write the index');
        const { index: signed } = (await controlCall(
          ctx.home,
          'POST',
          '/v1/files/index',
          { ref },
          { signal: ctx.signal },
        )) as { index: IndexFile };
        await writeFileAtomic(out, encodeIndex(signed), { overwrite: options.force === true });
        ctx.out.result(
          { id: signed.id, name: signed.file.name, revision: signed.revision ?? 0, out },
          `Wrote the index of "${signed.file.name}" (${signed.id}) to "${out}".`,
        );
      }),
    );
};
