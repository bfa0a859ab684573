/**
 * "Do you still keep the index of file F?" — asked by a node about to collect an unreferenced copy
 * (docs/repair.md "Orphans", docs/protocol.md): the uploader keeps a copy of every index it signed in
 * `<home>/indexes/<file id>.json` until `rm`, also when the catalog refused it (an index over the
 * catalog's size cap is a valid file the catalog never lists). `GET /v1/kept/<file id>` answers
 * `{"kept": true|false}` on the cluster port. A copy is collected only on an explicit `false`.
 */
import { stat } from 'node:fs/promises';
import type { ClientHttp2Session } from 'node:http2';
import { ArozError } from '../errors.ts';
import { type HomePaths, keptIndexPath } from '../home/paths.ts';
import { getJson } from '../transport/client.ts';
import type { PeerRequest } from '../transport/server.ts';
import { sendJson } from '../transport/wire.ts';
import { isUuid } from '../uuid.ts';

export const KEPT_PATH = '/v1/kept/';

/** Whether this node keeps the index of file `id` it signed. */
export async function keepsIndex(paths: HomePaths, id: string): Promise<boolean> {
  try {
    await stat(keptIndexPath(paths, id));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Handles `GET /v1/kept/<file id>`; false when the path is not this route. */
export async function handleKept(paths: HomePaths, req: PeerRequest): Promise<boolean> {
  const path = req.headers[':path'] ?? '';
  if (!path.startsWith(KEPT_PATH)) return false;
  const method = req.headers[':method'];
  if (method !== 'GET') throw new ArozError('ERR_ROUTE_NOT_FOUND', `No endpoint "${method} ${path}"`);
  const id = path.slice(KEPT_PATH.length);
  if (!isUuid(id)) throw new ArozError('ERR_INVALID_UUID', 'The file id is not a canonical v4 UUID');
  sendJson(req.stream, 200, { kept: await keepsIndex(paths, id) });
  return true;
}

/** Asks `peer` whether it keeps the index of `file`: true unless it answers `{"kept": false}`. */
export async function askKept(
  session: ClientHttp2Session,
  peer: string,
  file: string,
  signal: AbortSignal,
): Promise<boolean> {
  const body = await getJson(session, `${KEPT_PATH}${file}`, peer, { signal });
  return !(typeof body === 'object' && body !== null && (body as { kept?: unknown }).kept === false);
}
