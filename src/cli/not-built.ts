/**
 * Commands of the CLI contract (DESIGN.md §9) that are not built yet: they exist, take their options,
 * and answer ERR_NOT_IMPLEMENTED so programs that drive the CLI get a clear, stable answer.
 */
import { ArozError } from '../errors.ts';
import type { Register } from './context.ts';

function notBuilt(name: string): () => Promise<void> {
  return async () => {
    throw new ArozError('ERR_NOT_IMPLEMENTED', `"arozdfs ${name}" is not implemented yet`);
  };
}

export const register: Register = (program, action) => {
  program
    .command('upload <file>')
    .description('store a file on the cluster and write its index (not implemented yet)')
    .option('--chunk-size <size>', 'chunk size (default 64MiB)')
    .option('--shift <x>', 'shift of the second copy (default 1)')
    .option('--copies <r>', 'copies of every chunk (default 2)')
    .option('--nodes <uuids>', 'cluster list, comma-separated')
    .option('--index <out>', 'where to write the index file')
    .option('--detach', 'return the job id at once')
    .action(action(notBuilt('upload')));

  program
    .command('download <index>')
    .description('fetch, verify and merge a file from the cluster (not implemented yet)')
    .option('--out <file>', 'output file')
    .option('--force', 'replace an existing output file')
    .option('--allow-untrusted-index', 'accept an unsigned or unknown-signer index')
    .option('--detach', 'return the job id at once')
    .action(action(notBuilt('download')));

  program
    .command('check <index>')
    .description('which copies are reachable now (not implemented yet)')
    .option('--deep', 'also verify the hash of every copy')
    .action(action(notBuilt('check')));

  const jobs = program.command('jobs').description('background jobs of the local node (not implemented yet)');
  jobs.command('list').action(action(notBuilt('jobs list')));
  jobs.command('show <id>').action(action(notBuilt('jobs show')));
  jobs.command('wait <id>').action(action(notBuilt('jobs wait')));
  jobs.command('cancel <id>').action(action(notBuilt('jobs cancel')));

  program
    .command('demo')
    .description('three local nodes: upload, kill one, download (not implemented yet)')
    .action(action(notBuilt('demo')));
};
