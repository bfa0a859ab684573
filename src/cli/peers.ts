/**
 * `arozdfs peers add PAIRING|- [--uuid U] [--yes] | list | remove NODE_UUID [--compromised]`: the trust store from
 * the command line. `add` shows what is about to be trusted and asks the person to type the last
 * characters of the fingerprint they see on the other machine; nothing is written before that.
 */
import { NodeHome } from '../home/open.ts';
import { fingerprintTail, groupFingerprint } from '../keys/fingerprint.ts';
import { formatPairing, MAX_PAIRING_INPUT, parsePastedPeer } from '../keys/pairing.ts';
import { peerView } from '../node/peer-view.ts';
import { assertUuid } from '../uuid.ts';
import { viaDaemonOr } from './admin.ts';
import type { Register } from './context.ts';
import { Prompts } from './prompt.ts';
import { table } from './table.ts';

export const register: Register = (program, action) => {
  const peers = program.command('peers').description('trusted remote keys: add, list, revoke');

  peers
    .command('add <pairing>')
    .description('trust a node from its pairing string (or "-" to read it from stdin)')
    .option('--uuid <uuid>', 'node UUID, when pasting a bare PEM public key')
    .option('--yes', 'do not ask to confirm the fingerprint')
    .action(
      action<[string], { uuid?: string; yes?: boolean }>(async (ctx, [input], options) => {
        using prompts = new Prompts(ctx);
        const raw =
          input === '-'
            ? await prompts.readPasted(
                'Paste the pairing string from the other machine ("arozdfs keys show" there), then press Enter twice:\n',
                MAX_PAIRING_INPUT,
              )
            : input;
        const pasted = parsePastedPeer(raw, options.uuid === undefined ? {} : { uuid: options.uuid });
        const home = await NodeHome.open(ctx.home);
        const trust = await home.trustStore();
        const { nodeUuid, key, label } = pasted;
        const shown = label === '' ? '(no label)' : `"${label}"`;
        if (trust.check(nodeUuid, key) === 'pinned') {
          ctx.out.result(
            { ...peerView(trust.get(nodeUuid)!), added: false },
            `Node ${shown} (${nodeUuid}) is already trusted with this key; nothing changed.`,
          );
          return;
        }
        const details = [
          'You are about to trust this node:',
          `  node UUID:    ${nodeUuid}`,
          `  label:        ${shown}`,
          `  key:          RSA, ${key.bits} bits`,
          `  fingerprint:  ${groupFingerprint(key.fingerprint)}`,
          'On the other machine, "arozdfs keys show" prints its fingerprint: it must be exactly the same.',
          "If it differs, stop: what you pasted is not that machine's key.",
        ].join('\n');
        if (options.yes === true) ctx.out.info(details);
        await prompts.confirm({
          yes: options.yes === true,
          what: `Trusting node ${nodeUuid}`,
          expected: fingerprintTail(key.fingerprint),
          question: `${details}\nType the last 6 characters of the fingerprint (upper and lower case matter) to trust it: `,
        });
        const pairing = formatPairing(nodeUuid, key, label);
        const peer = await viaDaemonOr(
          ctx,
          { method: 'POST', path: '/v1/peers', body: { pairing } },
          async () => peerView((await home.addPeer(trust, pasted, 'cli')).peer),
        );
        ctx.out.result(
          { ...peer, added: true },
          [
            `This node now trusts node ${shown} (${nodeUuid}).`,
            'Pairing works in both directions only: if not done yet, run "arozdfs keys show" here and',
            '"arozdfs peers add -" on the other machine.',
          ].join('\n'),
        );
      }),
    );

  peers
    .command('list')
    .description('trusted peers with fingerprints')
    .action(
      action(async (ctx) => {
        const home = await NodeHome.open(ctx.home);
        const list = (await home.trustStore()).list();
        // Grouped as `keys show` and the pairing prompt print it, so the three compare by eye.
        const rows = list.map((p) => [p.nodeUuid, p.label, String(p.bits), groupFingerprint(p.fingerprint)]);
        ctx.out.result(
          { peers: list.map(peerView) },
          list.length === 0
            ? 'This node trusts no other node yet. To pair, see "arozdfs keys show".'
            : [
                `This node trusts ${list.length} node(s):`,
                '',
                table(['NODE UUID', 'LABEL', 'BITS', 'FINGERPRINT'], rows),
              ].join('\n'),
        );
      }),
    );

  peers
    .command('remove <node-uuid>')
    .description('revoke trust in a node (its files already in the catalog stay readable)')
    .option(
      '--compromised',
      "the node's key may be in other hands: its files' indexes are no longer trusted either",
    )
    .action(
      action<[string], { compromised?: boolean }>(async (ctx, [uuidArg], options) => {
        const nodeUuid = assertUuid(uuidArg, 'The node UUID');
        const compromised = options.compromised === true;
        const home = await NodeHome.open(ctx.home);
        const removed = await viaDaemonOr(
          ctx,
          { method: 'DELETE', path: `/v1/peers/${nodeUuid}`, body: { compromised } },
          async () => {
            const r = await home.removePeer(nodeUuid, 'cli', undefined, { compromised });
            return { nodeUuid, label: r.label, fingerprint: r.fingerprint ?? null };
          },
        );
        const shown = removed.label === '' ? '' : ` "${removed.label}"`;
        ctx.out.result(
          removed,
          `Node${shown} (${nodeUuid}) is no longer trusted: this node will refuse to talk to it.`,
        );
      }),
    );
};
