/**
 * `arozdfs serve`: runs this node until SIGINT or SIGTERM, then stops gracefully (in-flight puts
 * finish or are aborted; a half-written chunk never becomes visible) and exits 0.
 */
import type { NodeConfig } from '../home/node-config.ts';
import { NodeHome } from '../home/open.ts';
import { Daemon } from '../node/daemon.ts';
import type { DaemonOptions } from '../node/daemon-options.ts';
import { parsePeerAddress } from '../node/host-port.ts';
import { checkAddressOptions } from './addresses.ts';
import type { CliContext, Register } from './context.ts';
import { hintCommand } from './invocation.ts';

export interface ServeOptions {
  listen?: string;
  web?: string;
  webTls?: boolean;
  store?: string[];
  peer?: string[];
  discovery?: boolean;
  mdnsInterface?: string;
}

export const DEFAULT_WEB = '127.0.0.1:7421';

/**
 * `serve`'s options: each flag, else node.json's field of that name, else the default
 * (docs/config.md "serve's settings"). `--store` adds to node.json's `stores`; `--peer` adds to the
 * addresses of `peerAddresses`, which the daemon reads itself, and wins for the same node.
 */
export function serveSettings(options: ServeOptions, config: NodeConfig): DaemonOptionsOfServe {
  const mdnsInterface = options.mdnsInterface ?? config.mdnsInterface;
  const web = options.web ?? config.web ?? DEFAULT_WEB;
  const tls = options.webTls === true || config.webTls === true;
  return {
    ...(options.listen !== undefined ? { listen: options.listen } : {}),
    stores: options.store ?? [],
    peers: (options.peer ?? []).map(parsePeerAddress),
    discovery:
      options.discovery === false || config.discovery === false
        ? false
        : mdnsInterface !== undefined
          ? { interface: mdnsInterface, bind: '0.0.0.0' }
          : {},
    web: web === 'off' ? false : { address: web, ...(tls ? { tls: true } : {}) },
  };
}

type DaemonOptionsOfServe = Pick<DaemonOptions, 'listen' | 'stores' | 'peers' | 'discovery' | 'web'>;

export async function runDaemon(ctx: CliContext, options: ServeOptions): Promise<void> {
  checkAddressOptions(options);
  const { config } = await NodeHome.open(ctx.home);
  const daemon = await Daemon.start({
    home: ctx.home,
    ...serveSettings(options, config),
    log: (line) => ctx.out.info(line),
  });
  const { nodeUuid, name } = daemon.home.config;
  const ready = {
    nodeUuid,
    name,
    listen: daemon.listenAddress(),
    control: daemon.control.path,
    stores: (await daemon.stores.statuses()).map((s) => ({
      path: s.path ?? null,
      online: s.online,
      free: s.free,
    })),
    web:
      daemon.web === undefined
        ? null
        : {
            url: daemon.web.url(),
            tls: daemon.web.tls,
            certificateFingerprint: daemon.web.certificateFingerprint ?? null,
            setupToken: daemon.web.auth.setupToken ?? null,
          },
  };
  ctx.out.event('ready', ready);
  ctx.out.info(
    [
      `arozdfs node "${name}" (${nodeUuid}) is running.`,
      `  cluster port:   ${ready.listen}  (paired nodes only, mutual TLS)`,
      `  control socket: ${ready.control}  (this user's CLI: "${hintCommand(ctx.home, 'cluster nodes')}")`,
      ...ready.stores.map((s) => `  store:          ${s.path} (${s.online ? 'online' : 'OFFLINE'})`),
      ...webLines(ready.web),
      'Stop it with Ctrl-C.',
    ]
      .filter((l) => l !== '')
      .join('\n'),
  );
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  ctx.out.info('Stopping: finishing transfers in flight…');
  await daemon.close();
  ctx.out.result({ nodeUuid, stopped: true }, 'Stopped.');
}

function webLines(
  web: {
    url: string;
    certificateFingerprint: string | null;
    setupToken: string | null;
  } | null,
): string[] {
  if (web === null) return ['  web UI:         off'];
  return [
    `  web UI:         ${web.url}`,
    ...(web.certificateFingerprint !== null
      ? [`  web certificate SHA-256 (compare with what the browser shows): ${web.certificateFingerprint}`]
      : []),
    ...(web.setupToken !== null
      ? [`  web setup token (one-time, to set the admin password): ${web.setupToken}`]
      : []),
  ];
}

export const register: Register = (program, action) => {
  program
    .command('serve')
    .description('run the node until Ctrl-C or SIGTERM')
    .option('--listen <host:port>', 'cluster address (default: node.json, else 0.0.0.0:7420)')
    .option(
      '--web <host:port|off>',
      `web UI address (default: node.json, else ${DEFAULT_WEB}; not loopback: HTTPS)`,
    )
    .option('--web-tls', 'serve the web UI over HTTPS on a loopback address too')
    .option('--store <dir...>', 'an extra chunk store folder, e.g. on an external disk (repeatable)')
    .option('--peer <uuid@host:port...>', 'a static address of a paired node (repeatable)')
    .option('--no-discovery', 'do not announce or browse on the LAN')
    .option(
      '--mdns-interface <ip>',
      'announce and browse only on the interface with this address (e.g. 127.0.0.1)',
    )
    .action(action<[], ServeOptions>((ctx, _args, options) => runDaemon(ctx, options)));
};
