/**
 * The web UI's folder routes (docs/web.md "HTTP API"): a folder of the catalog with its files and
 * sub-folders, deleting a folder (the password again, like one file), and folder uploads staged in
 * batches (batch.ts) and stored by one `upload-batch` job. Paths follow the catalog's rules
 * (`filePathProblem`, docs/catalog.md "Folders"), checked by the operations layer.
 */

import { ArozError } from '../errors.ts';
import type { NodeOps } from '../ops/types.ts';
import type { BatchStaging } from './batch.ts';
import { type WebRequest, type WebRoutes, WebStatus } from './server.ts';

/** The upload options of a request: `copies` or `ec` "K+M", `shift`, `encrypt` (readers: every trusted node). */
export function uploadOptions(raw: {
  copies?: unknown;
  shift?: unknown;
  ec?: unknown;
  encrypt?: unknown;
}): Record<string, unknown> {
  const number = (value: unknown, what: string, max: number): number | undefined => {
    if (value === undefined || value === null || value === '') return undefined;
    const n = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) {
      throw new ArozError(
        'ERR_BAD_REQUEST',
        `${what} "${String(value)}" is not a whole number from 1 to ${max}`,
      );
    }
    return n;
  };
  const shift = number(raw.shift, 'The shift', 1024);
  const copies = number(raw.copies, 'The number of copies', 16);
  const ec = raw.ec === undefined || raw.ec === null || raw.ec === '' ? undefined : raw.ec;
  if (ec !== undefined && typeof ec !== 'string') {
    throw new ArozError('ERR_BAD_REQUEST', 'The erasure coding must be "K+M"');
  }
  if (ec !== undefined && copies !== undefined) {
    throw new ArozError('ERR_BAD_REQUEST', 'An upload stores copies or erasure-coded shards (ec), not both');
  }
  const encrypt = raw.encrypt === true || raw.encrypt === '1' || raw.encrypt === 'true';
  return {
    ...(shift !== undefined ? { shift } : {}),
    ...(copies !== undefined ? { copies } : {}),
    ...(ec !== undefined ? { ec } : {}),
    ...(encrypt ? { encrypt: true } : {}),
  };
}

function sessionOf(request: WebRequest): string {
  if (request.session === undefined) throw new ArozError('ERR_WEB_LOGIN_REQUIRED', 'Log in first');
  return request.session.id;
}

export function folderRoutes(
  ops: NodeOps,
  batches: BatchStaging,
  reauth: (request: WebRequest, body: Record<string, unknown>) => Promise<unknown>,
): WebRoutes {
  return {
    // One folder: its sub-folders (files and bytes under each) and the files directly in it, as
    // GET /api/files shows them; '' (or no path) is the top.
    'GET /api/folder': {
      handler: async ({ query, signal }) => {
        const listing = ops.catalog.folder(query.get('path') ?? '');
        const ids = new Set(listing.files.map((f) => f.id));
        const files = (await ops.files.list(signal)).filter((f) => ids.has(f.id));
        const folders = [...listing.folders].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        return { path: listing.path, folders, files };
      },
    },

    // Deletes the files under a folder this node uploaded (the password again); others' are listed.
    'DELETE /api/folder': {
      handler: async (request) => {
        const body = await request.json();
        return await ops.catalog.removeFolder(request.query.get('path') ?? '', 'web', () =>
          reauth(request, body),
        );
      },
    },

    'POST /api/batches': {
      handler: async (request) => {
        const body = await request.json();
        return new WebStatus(201, await batches.open(sessionOf(request), body['files'], body['bytes']));
      },
    },

    'PUT /api/batches/*/files': {
      handler: async (request) =>
        batches.put(
          sessionOf(request),
          request.params[0] ?? '',
          request.query.get('name'),
          request.req,
          request.signal,
        ),
    },

    'POST /api/batches/*/commit': {
      handler: async (request) => {
        const body = await request.json();
        const options = uploadOptions(body);
        const job = await batches.commit(sessionOf(request), request.params[0] ?? '', (files) =>
          ops.jobs.submit('upload-batch', { files, ...options }),
        );
        return new WebStatus(202, { job });
      },
    },

    'DELETE /api/batches/*': {
      handler: async (request) => batches.cancel(sessionOf(request), request.params[0] ?? ''),
    },
  };
}
