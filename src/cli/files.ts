/**
 * `arozdfs ls`, `arozdfs rm NAME|ID` and `arozdfs index export NAME|ID --out FILE`: the cluster's
 * files as the local daemon's catalog knows them (docs/catalog.md). `ls` makes no network round
 * trip; `rm` (this node's uploads only) asks for the file's name on a terminal unless `--yes`.
 */
import { resolve } from 'node:path';
import { checkOutput } from '../chunk/merge.ts';
import { controlCall } from '../control/client.ts';
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError, isArozError } from '../errors.ts';
import { encodeIndex, type IndexFile } from '../index-file/index.ts';
import type { ClusterFile, FolderListing, FolderRemoval } from '../ops/types.ts';
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

/** Whether the catalog has files under folder `path` (`photos/2024` holds `photos/2024/…`). */
export async function isCatalogFolder(ctx: CliContext, path: string): Promise<boolean> {
  try {
    await controlCall(ctx.home, 'POST', '/v1/files/folder', { path }, { signal: ctx.signal });
    return true;
  } catch (err) {
    if (isArozError(err, 'ERR_NOT_FOUND') || isArozError(err, 'ERR_BAD_REQUEST')) return false;
    throw err;
  }
}

function fileRow(f: ClusterFile, name: string): string[] {
  return [
    name,
    formatSize(f.size),
    uploaderOf(f),
    f.uploadedAt.replace(/\.\d+Z$/, 'Z'),
    // Older daemons: copies only.
    `${f.redundancy ?? String(f.copies)}${f.encrypted === true ? ' sealed' : ''}`,
    f.health ?? '-',
    f.id,
  ];
}

const HEADER = ['NAME', 'SIZE', 'UPLOADER', 'UPLOADED', 'COPIES', 'HEALTH', 'ID'];

function uploaderOf(f: ClusterFile): string {
  const name = f.uploaderName ?? '';
  return `${name === '' ? '' : `${name} `}(${f.uploader.slice(0, 8)})${f.mine ? ' *' : ''}`;
}

export const register: Register = (program, action) => {
  program
    .command('ls [folder]')
    .description(
      "list the cluster's files (from this node's catalog): the files and folders at the top, or in FOLDER",
    )
    .option('-r, --recursive', 'every file under the folder (or in the catalog), at any depth, by full name')
    .action(
      action<[string | undefined], { recursive?: boolean }>(async (ctx, [folder], options) => {
        const path = folder ?? '';
        if (options.recursive === true) {
          const { files } = (await controlCall(
            ctx.home,
            'POST',
            '/v1/files/under',
            { path },
            {
              signal: ctx.signal,
            },
          )) as { files: ClusterFile[] };
          ctx.out.result(
            { path, files },
            files.length === 0
              ? 'No files in the cluster yet ("arozdfs upload FILE" stores one).'
              : `${table(
                  HEADER,
                  files.map((f) => fileRow(f, f.name)),
                )}\n(* uploaded by this node)`,
          );
          return;
        }
        const listing = (await controlCall(
          ctx.home,
          'POST',
          '/v1/files/folder',
          { path },
          {
            signal: ctx.signal,
          },
        )) as FolderListing;
        const { files, folders } = listing;
        if (files.length === 0 && folders.length === 0) {
          ctx.out.result({ ...listing }, 'No files in the cluster yet ("arozdfs upload FILE" stores one).');
          return;
        }
        const prefix = listing.path === '' ? '' : `${listing.path}/`;
        const rows = [
          ...folders.map((d) => [`${d.name}/`, formatSize(d.bytes), `${d.files} file(s)`, '', '', '', '']),
          ...files.map((f) => fileRow(f, f.name.slice(prefix.length))),
        ];
        ctx.out.result(
          { ...listing },
          `${listing.path === '' ? '' : `${listing.path}/\n`}${table(HEADER, rows)}\n(* uploaded by this node)`,
        );
      }),
    );

  program
    .command('rm <name-or-id>')
    .description('delete a file this node uploaded, on every node (its copies go to the trash)')
    .option('--yes', 'do not ask to confirm')
    .option('-r, --recursive', 'delete a folder: every file under it that this node uploaded')
    .action(
      action<[string], { yes?: boolean; recursive?: boolean }>(async (ctx, [ref], options) => {
        if (options.recursive === true && (await isCatalogFolder(ctx, ref))) {
          await removeFolder(ctx, ref, options.yes === true);
          return;
        }
        const file = await findFile(ctx, ref).catch(async (err: unknown) => {
          if (isArozError(err, 'ERR_NOT_FOUND') && (await isCatalogFolder(ctx, ref))) {
            throw new ArozError(
              'ERR_IS_A_FOLDER',
              `"${ref}" is a folder of the catalog: "arozdfs rm ${ref} --recursive" deletes the files under it`,
            );
          }
          throw err;
        });
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

  const removeFolder = async (ctx: CliContext, ref: string, yes: boolean) => {
    const path = ref.replace(/^\/+|\/+$/g, '');
    const { files } = (await controlCall(
      ctx.home,
      'POST',
      '/v1/files/under',
      { path },
      {
        signal: ctx.signal,
      },
    )) as { files: ClusterFile[] };
    const bytes = files.reduce((n, f) => n + f.size, 0);
    await new Prompts(ctx).confirm({
      yes,
      what: `Deleting folder "${path}"`,
      expected: path,
      question: `Delete the ${files.length} file(s) under "${path}/" (${formatSize(bytes)}) on every node?\nType the folder's name to delete them: `,
    });
    const removal = (await controlCall(
      ctx.home,
      'POST',
      '/v1/files/remove-folder',
      { path },
      { signal: ctx.signal },
    )) as FolderRemoval;
    ctx.out.result(
      { ...removal, deleted: removal.removed.length },
      [
        `Deleted ${removal.removed.length} file(s) under "${path}/": every node that holds a copy moves it to its trash.`,
        ...removal.refused.map((r) => `  not deleted: "${r.name}": ${r.message} (${r.code})`),
      ].join('\n'),
    );
    if (removal.refused.length > 0) {
      throw new ArozError(
        'ERR_BATCH_INCOMPLETE',
        `${removal.refused.length} of ${files.length} files could not be deleted`,
      );
    }
  };

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
