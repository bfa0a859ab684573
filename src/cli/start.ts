/**
 * `npm start` (`arozdfs start`): run this machine's node with embedded defaults. On the
 * first run it makes the home (node UUID, key pair) as `arozdfs init` would, then serves exactly like
 * `arozdfs serve` and says how to reach the node and how to pair it.
 */
import { stat } from 'node:fs/promises';
import { initHome } from '../home/init.ts';
import { homePaths } from '../home/paths.ts';
import { checkAddressOptions } from './addresses.ts';
import type { Register } from './context.ts';
import { hintCommand } from './invocation.ts';
import { DEFAULT_WEB, runDaemon, type ServeOptions } from './serve.ts';

export const register: Register = (program, action) => {
  program
    .command('start')
    .description('init on first run, then serve with the defaults (what `npm start` runs)')
    .option('--listen <host:port>', 'cluster address (default: node.json, else 0.0.0.0:7420)')
    .option('--no-discovery', 'do not announce or browse on the LAN')
    .option('--web <host:port|off>', `web UI address (default ${DEFAULT_WEB}; not loopback: HTTPS)`)
    .option('--mdns-interface <ip>', 'announce and browse only on the interface with this address')
    .option('--store <dir...>', 'an extra chunk store folder, e.g. on an external disk (repeatable)')
    .action(
      action<[], ServeOptions>(async (ctx, _args, options) => {
        checkAddressOptions(options); // before a first run makes the home
        const exists = await stat(homePaths(ctx.home).addc).then(
          () => true,
          () => false,
        );
        if (!exists) {
          ctx.out.info(
            `First run: making this node's home in ${ctx.home} (a node UUID and an RSA key pair)…`,
          );
          const made = await initHome(ctx.home, { signal: ctx.signal });
          ctx.out.event('initialized', { home: ctx.home, nodeUuid: made.config.nodeUuid });
          ctx.out.info(
            `Done. To pair with another machine, run "${hintCommand(ctx.home, 'keys show')}" and follow what it says.`,
          );
        }
        await runDaemon(ctx, options);
      }),
    );
};
