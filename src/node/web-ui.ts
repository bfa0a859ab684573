/**
 * The web UI's wiring (docs/web.md): where it listens, its sign-in, HTTPS with its own key and
 * certificate (ADDC/web-tls.pem) off loopback or when asked (never the node's identity key), and its
 * routes over NodeOps, `/metrics` among them (off unless node.json says "metrics": true).
 */
import type { NodeHome } from '../home/open.ts';
import type { NodeOps } from '../ops/types.ts';
import { WebAuth } from '../web/auth.ts';
import { isLoopback } from '../web/guard.ts';
import { metricsRoutes } from '../web/metrics.ts';
import { webRoutes } from '../web/routes.ts';
import { WebServer } from '../web/server.ts';
import type { LiveStaging } from '../web/staging.ts';
import { openWebTls } from '../web/tls.ts';
import { parseHostPort } from './host-port.ts';

/** The daemon's `web` option: `host:port` (port 0 picks one), HTTPS also on loopback, the host name. */
export interface WebUiOptions {
  address: string;
  tls?: boolean;
  machine?: string;
}

export async function openWebUi(
  options: WebUiOptions,
  parts: { home: NodeHome; ops: NodeOps; staging: LiveStaging; log?: (line: string) => void },
): Promise<WebServer> {
  const { home, ops } = parts;
  const at = parseHostPort(options.address, 'The web UI address');
  const auth = await WebAuth.open(home.paths.addc);
  // The certificate is checked at every start and once a day while the node runs: one within 30 days
  // of its end is made again (web/tls.ts), so a node that runs for years never serves an expired one.
  const tlsFile = () => openWebTls(home.paths.addc, home.config.nodeUuid, { host: at.host });
  const https = options.tls === true || !isLoopback(at.host);
  return new WebServer({
    host: at.host,
    port: at.port,
    ...(https ? { tls: await tlsFile(), renewTls: tlsFile } : {}),
    ...(parts.log !== undefined ? { log: parts.log } : {}),
    nodeUuid: home.config.nodeUuid,
    auth,
    routes: {
      ...webRoutes(ops, auth, { staging: parts.staging }),
      // `/metrics`: docs/web.md "Metrics".
      ...metricsRoutes(ops, {
        enabled: home.config.metrics === true,
        tokenSha256: home.config.metricsTokenSha256,
      }),
    },
    ...(options.machine !== undefined ? { machine: options.machine } : {}),
  });
}
