/**
 * `arozdfs keys list | show | generate [--bits N] | activate KEY_UUID`: the Key Manager. Output is
 * written for people who know nothing about cryptography: what a thing is, what to copy, where to
 * paste it, and what a change means for the other machines.
 */
import { NodeHome } from '../home/open.ts';
import { fingerprintTail, groupFingerprint } from '../keys/fingerprint.ts';
import { formatPairing } from '../keys/pairing.ts';
import { GENERATE_RSA_BITS, publicKeyPem } from '../keys/rsa.ts';
import { assertUuid } from '../uuid.ts';
import { viaDaemonOr } from './admin.ts';
import type { Register } from './context.ts';
import { parseBits } from './init.ts';
import { Prompts } from './prompt.ts';
import { table } from './table.ts';

function when(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

export const register: Register = (program, action) => {
  const keys = program.command('keys').description('local key pairs (the Key Manager)');

  keys
    .command('list')
    .description('list local key pairs')
    .action(
      action(async (ctx) => {
        const home = await NodeHome.open(ctx.home);
        const { nodeUuid, name, activeKey } = home.config;
        const list = await home.keys.list();
        const rows = list.map((k) => [
          k.keyUuid === activeKey ? 'yes' : k.hasPrivateKey ? 'no' : 'no (public key only)',
          k.keyUuid,
          String(k.bits),
          when(k.createdAt),
          groupFingerprint(k.fingerprint),
        ]);
        ctx.out.result(
          {
            nodeUuid,
            activeKey,
            keys: list.map((k) => ({
              keyUuid: k.keyUuid,
              bits: k.bits,
              fingerprint: k.fingerprint,
              active: k.keyUuid === activeKey,
              createdAt: k.createdAt,
              hasPrivateKey: k.hasPrivateKey,
            })),
          },
          [
            `Key pairs of node "${name}" (${nodeUuid}):`,
            '',
            table(['ACTIVE', 'KEY UUID', 'BITS', 'CREATED', 'FINGERPRINT'], rows),
            '',
            "The active key is this node's identity: the key other nodes trust. The others are kept so",
            'that files signed with them can still be checked.',
          ].join('\n'),
        );
      }),
    );

  keys
    .command('show')
    .description("this node's identity and pairing string")
    .action(
      action(async (ctx) => {
        const home = await NodeHome.open(ctx.home);
        const { nodeUuid, name } = home.config;
        const pair = await home.activeKeyPair();
        const pairing = formatPairing(nodeUuid, pair, name);
        const pem = publicKeyPem(pair);
        ctx.out.result(
          {
            nodeUuid,
            name,
            keyUuid: pair.keyUuid,
            fingerprint: pair.fingerprint,
            bits: pair.bits,
            pairing,
            pem,
          },
          [
            `This is node "${name}" (node UUID ${nodeUuid}).`,
            '',
            'Two nodes work together only after a person has paired them, in both directions.',
            'To pair this node with another one:',
            '  1. Copy the pairing string below (one line; line breaks added by chat apps or e-mail do no harm).',
            '  2. On the OTHER machine, run:   arozdfs peers add -',
            '     paste the string, press Enter twice, and compare the fingerprint it shows with the one below.',
            '  3. Then do the same the other way round: run "arozdfs keys show" there and "arozdfs peers add -" here.',
            '',
            'Pairing string:',
            pairing,
            '',
            "Fingerprint of this node's key (read it aloud or compare it by eye; it is safe to share):",
            `  ${groupFingerprint(pair.fingerprint)}`,
            `  It ends in "${fingerprintTail(pair.fingerprint)}": the other machine will ask you to type these 6 characters.`,
            '',
            `The same public key as PEM, for tools that want it (use with "arozdfs peers add - --uuid ${nodeUuid}"):`,
            pem,
          ].join('\n'),
        );
      }),
    );

  keys
    .command('generate')
    .description('add a key pair')
    .option('--bits <bits>', 'RSA key size: 3072, 4096, 6144 or 8192', '3072')
    .action(
      action<[], { bits: string }>(async (ctx, _args, options) => {
        const bits = parseBits(options.bits, GENERATE_RSA_BITS);
        const home = await NodeHome.open(ctx.home);
        ctx.out.info(
          `Making an RSA-${bits} key pair${bits > 4096 ? ' (this can take a minute or more)' : ''}…`,
        );
        const pair = await viaDaemonOr(
          ctx,
          { method: 'POST', path: '/v1/keys', body: { bits } },
          async () => {
            const p = await home.generateKey(bits, 'cli', { signal: ctx.signal });
            return { keyUuid: p.keyUuid, bits: p.bits, fingerprint: p.fingerprint };
          },
        );
        ctx.out.result(
          { keyUuid: pair.keyUuid, bits: pair.bits, fingerprint: pair.fingerprint, active: false },
          [
            `Made a new RSA-${pair.bits} key pair ${pair.keyUuid}`,
            `  fingerprint ${groupFingerprint(pair.fingerprint)}`,
            'It is NOT in use yet: this node still uses its current key, and nothing changed for other nodes.',
            `To use it: "arozdfs keys activate ${pair.keyUuid}" (every paired node must then pair again).`,
          ].join('\n'),
        );
      }),
    );

  keys
    .command('activate <key-uuid>')
    .description('switch the identity key (every peer must re-pair)')
    .option('--yes', 'do not ask for confirmation')
    .action(
      action<[string], { yes?: boolean }>(async (ctx, [keyUuidArg], options) => {
        const keyUuid = assertUuid(keyUuidArg, 'The key UUID');
        const home = await NodeHome.open(ctx.home);
        const { nodeUuid, activeKey } = home.config;
        const pair = await home.keys.load(keyUuid);
        if (keyUuid === activeKey) {
          ctx.out.result(
            { keyUuid, fingerprint: pair.fingerprint, changed: false },
            `Key ${keyUuid} is already the active key; nothing changed.`,
          );
          return;
        }
        using prompts = new Prompts(ctx);
        await prompts.confirm({
          yes: options.yes === true,
          what: `Switching the identity key to ${keyUuid}`,
          expected: 'yes',
          question: [
            `This makes key ${keyUuid} (${pair.fingerprint}) this node's identity.`,
            'EVERY node paired with this one will refuse to talk to it until it is paired again:',
            `on each of them run "arozdfs peers remove ${nodeUuid}", then "arozdfs peers add -" with the`,
            'new pairing string from "arozdfs keys show". The old key is kept (old signatures stay valid).',
            'Type "yes" to switch: ',
          ].join('\n'),
        });
        await viaDaemonOr(ctx, { method: 'POST', path: '/v1/keys/activate', body: { keyUuid } }, () =>
          home.activateKey(keyUuid, 'cli'),
        );
        ctx.out.result(
          { keyUuid, fingerprint: pair.fingerprint, previousKey: activeKey, changed: true },
          [
            `Key ${keyUuid} is now this node's identity (the previous key ${activeKey} is kept).`,
            'Now pair again with every other node: run "arozdfs keys show" here, and on each other node',
            `"arozdfs peers remove ${nodeUuid}" followed by "arozdfs peers add -".`,
          ].join('\n'),
        );
      }),
    );
};
