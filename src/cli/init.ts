/** `arozdfs init [--name N] [--bits 3072|4096]`: makes a node home (src/home/init.ts). */
import { ArozError } from '../errors.ts';
import { initHome } from '../home/init.ts';
import { groupFingerprint } from '../keys/fingerprint.ts';
import { INIT_RSA_BITS } from '../keys/rsa.ts';
import type { Register } from './context.ts';
import { hintCommand } from './invocation.ts';

/** Parses a --bits value against the sizes a command offers (ERR_USAGE otherwise). */
export function parseBits(value: string, allowed: readonly number[]): number {
  const bits = Number(value);
  if (!/^\d+$/.test(value) || !allowed.includes(bits)) {
    throw new ArozError('ERR_USAGE', `--bits must be ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
  }
  return bits;
}

export const register: Register = (program, action) => {
  program
    .command('init')
    .description('create a node home: node UUID, first key pair, config')
    .option('--name <name>', 'a name for this node (default: the host name)')
    .option('--bits <bits>', 'RSA key size: 3072 or 4096', '3072')
    .action(
      action<[], { name?: string; bits: string }>(async (ctx, _args, options) => {
        const bits = parseBits(options.bits, INIT_RSA_BITS);
        ctx.out.info(`Making an RSA-${bits} key pair for this node…`);
        const { paths, config, keyPair } = await initHome(ctx.home, {
          bits,
          signal: ctx.signal,
          ...(options.name === undefined ? {} : { name: options.name }),
        });
        ctx.out.result(
          {
            home: paths.home,
            nodeUuid: config.nodeUuid,
            name: config.name,
            keyUuid: keyPair.keyUuid,
            fingerprint: keyPair.fingerprint,
          },
          [
            `Created the node home "${paths.home}".`,
            `  Node:         "${config.name}" (${config.nodeUuid})`,
            `  Identity key: RSA-${keyPair.bits}, ${keyPair.keyUuid}`,
            `  Fingerprint:  ${groupFingerprint(keyPair.fingerprint)}`,
            '',
            `Next: run "${hintCommand(paths.home, 'keys show')}" to see the pairing string that another node needs`,
            '(docs/pairing.md explains pairing step by step).',
          ].join('\n'),
        );
      }),
    );
};
