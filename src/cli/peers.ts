import { ArozError } from '../errors.ts';
import type { Register } from './context.ts';

const notBuilt = (name: string) => async () => {
  throw new ArozError('ERR_NOT_IMPLEMENTED', `"arozdfs peers ${name}" is not implemented yet`);
};

export const register: Register = (program, action) => {
  const peers = program.command('peers').description('trusted remote keys: add, list, revoke');
  peers
    .command('add <pairing>')
    .description('trust a node from its pairing string (or "-" to read it from stdin)')
    .option('--uuid <uuid>', 'node UUID, when pasting a bare PEM public key')
    .option('--yes', 'do not ask to confirm the fingerprint')
    .action(action(notBuilt('add')));
  peers
    .command('list')
    .description('trusted peers with fingerprints')
    .action(action(notBuilt('list')));
  peers
    .command('remove <node-uuid>')
    .description('revoke trust in a node')
    .action(action(notBuilt('remove')));
};
