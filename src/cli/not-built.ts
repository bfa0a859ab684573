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
    .command('check <index>')
    .description('which copies are reachable now (not implemented yet)')
    .option('--deep', 'also verify the hash of every copy')
    .action(action(notBuilt('check')));

  program
    .command('demo')
    .description('three local nodes: upload, kill one, download (not implemented yet)')
    .action(action(notBuilt('demo')));
};
