import { ArozError } from '../errors.ts';
import type { Register } from './context.ts';

export const register: Register = (program, action) => {
  program
    .command('init')
    .description('create a node home: node UUID, first key pair, config')
    .option('--name <name>', 'a name for this node')
    .option('--bits <bits>', 'RSA key size: 3072 or 4096', '3072')
    .action(
      action(async () => {
        throw new ArozError('ERR_NOT_IMPLEMENTED', '"arozdfs init" is not implemented yet');
      }),
    );
};
