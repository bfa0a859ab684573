/**
 * The web UI's API (docs/web.md "HTTP API"): the same operations as the control socket, for a
 * logged-in browser. Trust and key changes, and deleting a file, need the password again and go to
 * the audit log with `from: "web"`. Everything a peer supplied is sent as JSON data; the page shows it as text.
 */
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { ArozError, isArozError } from '../errors.ts';
import type { AuditAction } from '../home/audit.ts';
import type { JobRecord } from '../jobs/types.ts';
import { groupFingerprint } from '../keys/fingerprint.ts';
import type { NodeOps } from '../ops/types.ts';
import type { Session, WebAuth } from './auth.ts';
import { BatchStaging } from './batch.ts';
import { EventStreams } from './events.ts';
import { folderRoutes, uploadOptions } from './folder-routes.ts';
import { isLoopback } from './guard.ts';
import { type WebRequest, type WebRoutes, WebStatus } from './server.ts';
import { LiveStaging } from './staging.ts';
import { contentDisposition, prepareUpload, stageBody } from './upload.ts';

/** How long a "one way so far" or "key mismatch" verdict outlives probes that reach nobody. */
const VERDICT_MS = 60_000;
/** For this long after a node was trusted, "not reachable" reads "waiting for the other computer". */
const WAITING_MS = 10 * 60_000;

/** Writes a piece to a response, waiting while its buffer is full; throws once the client is gone. */
async function writePiece(res: ServerResponse, piece: Buffer, signal: AbortSignal): Promise<void> {
  if (res.destroyed || res.writableEnded)
    throw new ArozError('ERR_INTERRUPTED', 'The browser stopped the download');
  if (!res.write(piece)) {
    await once(res, 'drain', { signal }).catch(() => {
      throw new ArozError('ERR_INTERRUPTED', 'The browser stopped the download');
    });
  }
}

export function webRoutes(
  ops: NodeOps,
  auth: WebAuth,
  parts: { staging?: LiveStaging; events?: EventStreams; batches?: BatchStaging } = {},
): WebRoutes {
  const staging = parts.staging ?? new LiveStaging();
  const batches = parts.batches ?? new BatchStaging(ops.files.uploadsDir());
  const events = parts.events ?? new EventStreams(ops, auth);
  /** An audit line for something the web UI's admin did (or failed to do). */
  const audit = (request: WebRequest, action: AuditAction) => ops.audit(action, 'web', request.client);

  /** Runs a password check (a login, or the password again for a change); a wrong one is audited. */
  const checked = async <T>(request: WebRequest, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (isArozError(err, 'ERR_WEB_PASSWORD')) await audit(request, 'web-login-failed');
      throw err;
    }
  };

  /** The password again, for trust and key changes. */
  const reauth = (request: WebRequest, body: Record<string, unknown>) =>
    checked(request, () => auth.verify(request.client, body['password']));

  /** Starts a session: its cookie, and the CSRF token the page sends with every change. */
  const loggedIn = (request: WebRequest, session: Session) => {
    request.login(session);
    return { loggedIn: true, csrf: session.csrf };
  };

  /**
   * A peer that refused this node (or showed another key) is not dialled again at once: the address
   * book backs off, and the next probe says only "unreachable". Such a verdict is kept for a minute
   * so the page does not flicker between "one way so far" and "not reachable".
   */
  const verdicts = new Map<string, { pairing: string; at: number }>();
  const stickyPairing = (nodeUuid: string, pairing: string): string => {
    const before = verdicts.get(nodeUuid);
    if (pairing === 'unknown' && before !== undefined && Date.now() - before.at < VERDICT_MS) {
      return before.pairing;
    }
    if (pairing === 'one-way' || pairing === 'mismatch') verdicts.set(nodeUuid, { pairing, at: Date.now() });
    else verdicts.delete(nodeUuid);
    return pairing;
  };
  ops.peers.onRemoved((nodeUuid) => verdicts.delete(nodeUuid));

  return {
    ...folderRoutes(ops, batches, reauth),

    'GET /api/session': {
      public: true,
      handler: async ({ session, client }) => ({
        node: { name: ops.name(), nodeUuid: ops.nodeUuid },
        passwordSet: auth.passwordSet,
        // Where the password is kept: deleting it (node stopped) resets it; the login page says so.
        // The path names the home (often a user name): only a browser on this machine or a logged-in
        // one is told it; anyone else who can load the page gets null.
        passwordFile: session !== undefined || isLoopback(client.replace(/^::ffff:/, '')) ? auth.path : null,
        loggedIn: session !== undefined,
        csrf: session?.csrf ?? null,
      }),
    },

    'POST /api/setup': {
      public: true,
      handler: async (request) => {
        const body = await request.json();
        const session = await auth.setup(request.client, body['token'], body['password']);
        await audit(request, 'web-password-set');
        return loggedIn(request, session);
      },
    },

    'POST /api/login': {
      public: true,
      handler: async (request) => {
        const body = await request.json();
        const session = await checked(request, () => auth.login(request.client, body['password']));
        await audit(request, 'web-login');
        return loggedIn(request, session);
      },
    },

    'POST /api/logout': {
      handler: async (request) => {
        if (request.session !== undefined) {
          auth.logout(request.session.id);
          events.closeAll(request.session.id);
        }
        request.logout();
        return { loggedIn: false };
      },
    },

    'GET /api/host': {
      handler: async () => {
        const host = await ops.keys.host();
        return { ...host, fingerprintGrouped: groupFingerprint(host.fingerprint) };
      },
    },

    'POST /api/pairing/preview': {
      handler: async (request) => {
        const preview = ops.peers.preview((await request.json())['pairing']);
        return { ...preview, fingerprintGrouped: groupFingerprint(preview.fingerprint) };
      },
    },

    'POST /api/peers': {
      handler: async (request) => {
        const body = await request.json();
        return await ops.peers.add(body['pairing'], 'web', () => reauth(request, body));
      },
    },

    'GET /api/peers': {
      handler: async ({ signal }) => {
        const addresses = ops.peers.addresses();
        return {
          peers: await Promise.all(
            (await ops.peers.probe(signal)).map((seen) => {
              const reason = 'reason' in seen ? seen.reason : null;
              const code = 'code' in seen ? seen.code : null;
              const sticky = stickyPairing(
                seen.nodeUuid,
                seen.state === 'online'
                  ? 'both'
                  : reason === 'refused-by-peer'
                    ? 'one-way'
                    : code === 'ERR_PEER_UNTRUSTED'
                      ? 'mismatch'
                      : 'unknown',
              );
              // Just trusted and not reachable yet: no raw error, the page waits for the other computer.
              const fresh = seen.addedAt !== null && Date.now() - Date.parse(seen.addedAt) < WAITING_MS;
              const pairing = sticky === 'unknown' && fresh ? 'waiting' : sticky;
              return {
                nodeUuid: seen.nodeUuid,
                label: seen.label,
                bits: seen.bits,
                fingerprint: seen.fingerprint,
                addedAt: seen.addedAt,
                fingerprintGrouped: groupFingerprint(seen.fingerprint),
                address: seen.address,
                source: seen.source,
                lastSeen: seen.lastSeen,
                pairing,
                staticAddress: addresses[seen.nodeUuid] ?? null,
                detail: 'error' in seen && pairing !== 'waiting' ? seen.error : null,
              };
            }),
          ),
        };
      },
    },

    'GET /api/pairing/hints': {
      handler: async () => {
        const { handshakes, discovered } = ops.peers.hints();
        return {
          handshakes: handshakes.map((h) => ({ ...h, fingerprintGrouped: groupFingerprint(h.fingerprint) })),
          discovered,
        };
      },
    },

    'PUT /api/peers/*/address': {
      handler: async (request) =>
        ops.peers.setAddress(request.params[0], (await request.json())['address'] ?? null, 'web'),
    },

    'GET /api/events': {
      handler: (request) => events.serve(request),
    },

    'DELETE /api/peers/*': {
      handler: async (request) =>
        ops.peers.remove(request.params[0], 'web', async () => reauth(request, await request.json())),
    },

    'GET /api/keys': {
      handler: async () => ({
        keys: (await ops.keys.list()).map((k) => ({
          keyUuid: k.keyUuid,
          bits: k.bits,
          fingerprint: k.fingerprint,
          fingerprintGrouped: groupFingerprint(k.fingerprint),
          createdAt: k.createdAt,
          active: k.active,
          hasPrivateKey: k.hasPrivateKey,
        })),
      }),
    },

    'POST /api/keys': {
      handler: async (request) => ops.keys.generate((await request.json())['bits'], 'web', request.signal),
    },

    'POST /api/keys/activate': {
      handler: async (request) => {
        const body = await request.json();
        return await ops.keys.activate(body['keyUuid'], 'web', () => reauth(request, body));
      },
    },

    'GET /api/cluster': {
      handler: async ({ signal }) => {
        const seen = ops.cluster.discover();
        const { stores, trash, scrub } = await ops.info();
        return {
          self: {
            nodeUuid: ops.nodeUuid,
            name: ops.name(),
            listen: ops.listenAddress(),
            stores: stores.map((s) => ({ online: s.online, free: s.free, capacity: s.capacity })),
            trash: trash ?? null,
            scrub: scrub ?? null,
          },
          discovery: {
            enabled: seen.enabled,
            nodes: seen.nodes.map((n) => ({
              nodeUuid: n.nodeUuid,
              name: n.name,
              address: n.address,
              trust: n.trust,
              seenAt: n.seenAt,
            })),
          },
          nodes: (await ops.peers.probe(signal)).map((n) => {
            return {
              nodeUuid: n.nodeUuid,
              label: n.label,
              name: 'name' in n ? n.name : null,
              state: n.state,
              address: n.address,
              source: n.source,
              lastSeen: n.lastSeen,
              free: 'free' in n ? n.free : null,
              trash: 'trash' in n ? n.trash : null,
              scrub: 'scrub' in n ? n.scrub : null,
              stores: 'stores' in n ? n.stores : [],
              error: 'error' in n ? n.error : null,
            };
          }),
        };
      },
    },

    'GET /api/files': {
      handler: async ({ signal }) => ({ files: await ops.files.list(signal) }),
    },

    'POST /api/files/*/check': {
      handler: async ({ params, signal }) => {
        const report = await ops.check.file(params[0] ?? '', { signal });
        const { summary } = report;
        // The worst state of any chunk, in the order `arozdfs check` reports failures.
        const worst = (['lost', 'mismatch', 'unknown', 'degraded'] as const).find((h) => summary[h] > 0);
        const health = worst ?? 'healthy';
        return { health, trusted: report.trusted, summary };
      },
    },

    // The job starts with the request and reads the staging file as it grows (staging.ts).
    'PUT /api/upload': {
      handler: async (request) => {
        const q = request.query;
        const options = uploadOptions({
          shift: q.get('shift'),
          copies: q.get('copies'),
          ec: q.get('ec'),
          encrypt: q.get('encrypt'),
        });
        const upload = await prepareUpload(request.req, ops.files.uploadsDir(), request.query.get('name'));
        const growing = staging.begin(upload.path, upload.part, upload.length);
        let job: JobRecord | undefined;
        try {
          job = await ops.jobs.submit('upload', {
            file: upload.path,
            staged: true,
            ...options,
          });
          await stageBody(upload, request.req, request.signal, {
            onWritten: (bytes) => growing.advance(bytes),
            mtimeSeconds: growing.mtimeSeconds,
          });
          growing.finish();
        } catch (err) {
          // Cancelled first (its abort is set at once), then its reads fail: the job ends "cancelled".
          const cancelling = job === undefined ? undefined : ops.jobs.cancel(job.id).catch(() => undefined);
          growing.fail(err instanceof Error ? err : new Error(String(err)));
          await cancelling;
          await rm(upload.folder, { recursive: true, force: true });
          throw err;
        } finally {
          staging.end(upload.path);
        }
        return new WebStatus(202, { job: ops.jobs.get(job.id) });
      },
    },

    // A download job into <home>/downloads/ (the earlier way; the page now streams with one click).
    'POST /api/files/*/download': {
      handler: async ({ params, signal }) =>
        new WebStatus(202, { job: await ops.files.download(params[0] ?? '', signal) }),
    },

    // One click: the file streams from the cluster to the browser, each chunk verified before it is
    // sent; a chunk that cannot be had aborts the response (the browser marks the download failed).
    'GET /api/files/*/content': {
      handler: async ({ params, signal, res, method, session }) => {
        const id = params[0] ?? '';
        if (method === 'HEAD') {
          const index = await ops.files.index(id, signal);
          res.writeHead(200, {
            'content-type': 'application/octet-stream',
            'content-length': index.file.size,
            'content-disposition': contentDisposition(index.file.name),
            'cache-control': 'no-store',
          });
          res.end();
          return undefined;
        }
        let name = id;
        const tell = (state: string, extra: Record<string, unknown> = {}) => {
          if (session !== undefined) events.notify(session.id, 'download', { id, name, state, ...extra });
        };
        try {
          await ops.files.stream(
            id,
            {
              start: (file) => {
                name = file.name;
                res.writeHead(200, {
                  'content-type': 'application/octet-stream',
                  'content-length': file.size,
                  'content-disposition': contentDisposition(file.name),
                  'cache-control': 'no-store',
                });
                tell('started', { size: file.size });
              },
              write: (piece) => writePiece(res, piece, signal),
            },
            signal,
          );
        } catch (err) {
          const code = err instanceof ArozError ? err.code : 'ERR_INTERNAL';
          const message = err instanceof ArozError ? err.message : 'Internal error in the daemon';
          tell('failed', { error: { code, message } });
          if (!res.headersSent) throw err;
          res.destroy(); // cut before its Content-Length: the browser marks the download failed
          return undefined;
        }
        res.end();
        tell('done');
        return undefined;
      },
    },

    // Deleting a file on every node: this node's uploads only, with the password again.
    'DELETE /api/files/*': {
      handler: async (request) =>
        ops.catalog.remove(request.params[0], 'web', async () => reauth(request, await request.json())),
    },

    'DELETE /api/files/*/content': {
      handler: ({ params, signal }) => ops.files.removeDownload(params[0] ?? '', signal),
    },

    'POST /api/password': {
      handler: async (request) => {
        const body = await request.json();
        await reauth(request, body);
        const session = await auth.changePassword(body['newPassword']);
        await audit(request, 'web-password-set');
        return loggedIn(request, session);
      },
    },

    'GET /api/jobs': {
      handler: async () => ({ jobs: ops.jobs.list().reverse() }),
    },

    'POST /api/jobs/*/cancel': {
      handler: async ({ params }) => ops.jobs.cancel(params[0] ?? ''),
    },
  };
}
