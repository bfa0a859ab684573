import { ArozError } from '../errors.ts';
import type { Register } from './context.ts';

export const register: Register = (program, action) => {
  program
    .command('slice <file>')
    .description('cut a file into chunks and write index.json beside them')
    .option('--chunk-size <size>', 'chunk size: bytes or 64MiB, 64M, 1GiB … (default 64MiB)')
    .option('--out <dir>', 'output folder (default FILE.chunks/)')
    .action(
      action(async () => {
        throw new ArozError('ERR_NOT_IMPLEMENTED', '"arozdfs slice" is not implemented yet');
      }),
    );
};
