import { ArozError } from '../errors.ts';
import type { Register } from './context.ts';

/** `npm start`: the main job with embedded defaults. */
export const register: Register = (program, action) => {
  program
    .command('start', { hidden: true })
    .description('run the main job with embedded defaults (what `npm start` runs)')
    .action(
      action(async () => {
        throw new ArozError('ERR_NOT_IMPLEMENTED', '"arozdfs start" is not implemented yet');
      }),
    );
};
