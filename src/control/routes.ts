/**
 * What the daemon answers on its control socket (docs/cli-json.md): one line per operation of
 * NodeOps (src/ops/types.ts). The CLI has asked the person to confirm before it calls; the
 * operations re-parse and re-check everything they are sent.
 */
import type { JobRecord } from '../jobs/types.ts';
import type { NodeOps } from '../ops/types.ts';
import { throttle } from '../throttle.ts';
import type { ControlRoutes } from './server.ts';

/** Progress lines are sent at most this often; a trailing one always carries the latest figures. */
const PROGRESS_INTERVAL_MS = 200;

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

export function controlRoutes(ops: NodeOps): ControlRoutes {
  const from = 'control-socket';
  return {
    'GET /v1/status': () => ops.status(),
    'POST /v1/peers': ({ body }) => ops.peers.add(field(body, 'pairing'), from),
    'DELETE /v1/peers/*': ({ param, body }) =>
      ops.peers.remove(param, from, undefined, { compromised: field(body, 'compromised') === true }),
    'POST /v1/keys': ({ body, signal }) => ops.keys.generate(field(body, 'bits'), from, signal),
    'POST /v1/keys/activate': ({ body }) => ops.keys.activate(field(body, 'keyUuid'), from),
    'POST /v1/jobs': ({ body }) => ops.jobs.submit(field(body, 'kind'), field(body, 'params')),
    'GET /v1/jobs': async () => ({ jobs: ops.jobs.list() }),
    'GET /v1/jobs/*': async ({ param }) => ops.jobs.get(param ?? ''),
    'POST /v1/jobs/cancel/*': ({ param }) => ops.jobs.cancel(param ?? ''),

    'POST /v1/check': async ({ body, signal, send }) => {
      const progress = throttle(PROGRESS_INTERVAL_MS, (p: object) => send({ type: 'progress', ...p }), {
        trailing: false,
      });
      try {
        const report = await ops.check.path(field(body, 'index'), {
          deep: field(body, 'deep') === true,
          signal,
          onProgress: (p) => progress.push(p, p.done >= p.total),
        });
        send({ type: 'result', report });
      } finally {
        progress.cancel();
      }
      return undefined;
    },

    'GET /v1/jobs/wait/*': async ({ param, signal, send }) => {
      const progress = throttle(PROGRESS_INTERVAL_MS, (record: JobRecord) =>
        send({ type: 'progress', job: record.id, state: record.state, ...record.progress }),
      );
      try {
        const job = await ops.jobs.wait(param ?? '', {
          signal,
          onChange: (record) => {
            if (record.progress !== undefined) progress.push(record);
          },
        });
        send({ type: 'result', job });
      } finally {
        progress.cancel();
      }
      return undefined;
    },

    'GET /v1/files': async () => ({ files: ops.catalog.list() }),
    'POST /v1/files/find': async ({ body }) => ops.catalog.find(field(body, 'ref')),
    'POST /v1/files/folder': async ({ body }) => ops.catalog.folder(field(body, 'path')),
    'POST /v1/files/under': async ({ body }) => ({ files: ops.catalog.under(field(body, 'path')) }),
    'POST /v1/files/remove-folder': ({ body }) => ops.catalog.removeFolder(field(body, 'path'), from),
    'POST /v1/files/index': async ({ body }) => ({ index: ops.catalog.index(field(body, 'ref')) }),
    'POST /v1/files/remove': ({ body }) => ops.catalog.remove(field(body, 'ref'), from),

    'GET /v1/cluster/discover': async () => ops.cluster.discover(),
    'GET /v1/cluster/resolve/*': ({ param, signal }) => ops.cluster.resolve(param, signal),
    'GET /v1/cluster/nodes': async ({ signal }) => ({ nodes: await ops.peers.probe(signal) }),
  };
}
