import { ArozError } from '../errors.ts';
import type { Register } from './context.ts';

export const register: Register = (program, action) => {
  program
    .command('merge <index>')
    .alias('open')
    .description('rebuild a file from its index and chunks, verified')
    .option('--chunks <dir>', "chunk folder (default: the index's folder)")
    .option('--out <file>', 'output file (default: the name in the index, beside the index)')
    .option('--force', 'replace an existing output file')
    .action(
      action(async () => {
        throw new ArozError('ERR_NOT_IMPLEMENTED', '"arozdfs merge" is not implemented yet');
      }),
    );
};
