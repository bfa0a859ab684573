import { ArozError } from '../errors.ts';
import type { Register } from './context.ts';

const notBuilt = (name: string) => async () => {
  throw new ArozError('ERR_NOT_IMPLEMENTED', `"arozdfs keys ${name}" is not implemented yet`);
};

export const register: Register = (program, action) => {
  const keys = program.command('keys').description('local key pairs (the Key Manager)');
  keys
    .command('list')
    .description('list local key pairs')
    .action(action(notBuilt('list')));
  keys
    .command('show')
    .description("this node's identity and pairing string")
    .action(action(notBuilt('show')));
  keys
    .command('generate')
    .description('add a key pair')
    .option('--bits <bits>', 'RSA key size', '3072')
    .action(action(notBuilt('generate')));
  keys
    .command('activate <key-uuid>')
    .description('switch the identity key (every peer must re-pair)')
    .option('--yes', 'do not ask for confirmation')
    .action(action(notBuilt('activate')));
};
