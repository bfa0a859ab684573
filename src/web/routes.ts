/**
 * The web UI's API (docs/web.md "HTTP API"): the same operations as the control socket, for a
 * logged-in browser. Trust and key changes need the password again and go to the audit log with
 * `from: "web"`. Everything a peer supplied is sent as JSON data; the page shows it as text.
 */
import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ensureDir } from '../durable/index.ts';
import { ArozError, isArozError, isProgrammingError } from '../errors.ts';
import type { AuditAction } from '../home/audit.ts';
import { type IndexFile, readIndexFile } from '../index-file/index.ts';
import { groupFingerprint } from '../keys/fingerprint.ts';
import { formatPairing, parsePastedPeer } from '../keys/pairing.ts';
import { GENERATE_RSA_BITS, publicKeyPem } from '../keys/rsa.ts';

import { checkWithDaemon } from '../node/check.ts';
import { discovered, peerJson, probe } from '../node/control-routes.ts';
import type { Daemon } from '../node/daemon.ts';
import { assertUuid } from '../uuid.ts';
import type { Session, WebAuth } from './auth.ts';
import { isLoopback } from './guard.ts';
import { type WebRequest, type WebRoutes, WebStatus } from './server.ts';
import { contentDisposition, stageUpload, uploadsDir } from './upload.ts';

/** How long a "one way so far" or "key mismatch" verdict outlives probes that reach nobody. */
const VERDICT_MS = 60_000;

function text(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string') throw new ArozError('ERR_BAD_REQUEST', `A "${name}" string is needed`);
  return value;
}

function optionalCount(value: string | null, what: string, min: number, max: number): number | undefined {
  if (value === null || value === '') return undefined;
  const n = Number(value);
  if (!/^\d{1,4}$/.test(value) || n < min || n > max) {
    throw new ArozError('ERR_BAD_REQUEST', `${what} "${value}" is not a whole number from ${min} to ${max}`);
  }
  return n;
}

/** Where the web UI's download of an index goes. */
function downloadPath(daemon: Daemon, index: IndexFile): string {
  return join(daemon.home.paths.home, 'downloads', index.id, index.file.name);
}

function keptIndexPath(daemon: Daemon, id: string): string {
  return join(daemon.home.paths.home, 'indexes', `${assertUuid(id, 'The file id')}.json`);
}

async function keptIndex(daemon: Daemon, id: string, signal: AbortSignal): Promise<IndexFile> {
  try {
    return await readIndexFile(keptIndexPath(daemon, id), { signal });
  } catch (err) {
    if (err instanceof ArozError && err.code === 'ERR_FILE_NOT_FOUND') {
      throw new ArozError('ERR_NOT_FOUND', `This node made no file with the id "${id}"`);
    }
    throw err;
  }
}

async function isDownloaded(daemon: Daemon, index: IndexFile): Promise<boolean> {
  try {
    const info = await stat(downloadPath(daemon, index));
    return info.isFile() && info.size === index.file.size;
  } catch {
    return false;
  }
}

export function webRoutes(daemon: Daemon, auth: WebAuth): WebRoutes {
  /** An audit line for something the web UI's admin did (or failed to do). */
  const audit = (request: WebRequest, action: AuditAction) =>
    daemon.home.audit({ action, fingerprint: null, from: 'web', client: request.client });

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
  daemon.trust.on('removed', (peer) => verdicts.delete(peer.nodeUuid));

  return {
    'GET /api/session': {
      public: true,
      handler: async ({ session, client }) => ({
        node: { name: daemon.home.config.name, nodeUuid: daemon.nodeUuid },
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
        if (request.session !== undefined) auth.logout(request.session.id);
        request.logout();
        return { loggedIn: false };
      },
    },

    'GET /api/host': {
      handler: async () => {
        const pair = await daemon.home.activeKeyPair();
        const { name, nodeUuid } = daemon.home.config;
        return {
          name,
          nodeUuid,
          keyUuid: pair.keyUuid,
          bits: pair.bits,
          fingerprint: pair.fingerprint,
          fingerprintGrouped: groupFingerprint(pair.fingerprint),
          pairing: formatPairing(nodeUuid, pair, name),
          pem: publicKeyPem(pair),
        };
      },
    },

    'POST /api/pairing/preview': {
      handler: async (request) => {
        const pasted = parsePastedPeer(text(await request.json(), 'pairing'));
        if (pasted.nodeUuid === daemon.nodeUuid) {
          throw new ArozError('ERR_PEER_SELF', 'This is the pairing string of this very node');
        }
        const pinned = daemon.trust.get(pasted.nodeUuid);
        return {
          nodeUuid: pasted.nodeUuid,
          label: pasted.label,
          bits: pasted.key.bits,
          fingerprint: pasted.key.fingerprint,
          fingerprintGrouped: groupFingerprint(pasted.key.fingerprint),
          trusted:
            pinned === undefined
              ? 'no'
              : pinned.fingerprint === pasted.key.fingerprint
                ? 'same'
                : 'other-key',
        };
      },
    },

    'POST /api/peers': {
      handler: async (request) => {
        const body = await request.json();
        const pasted = parsePastedPeer(text(body, 'pairing'));
        await reauth(request, body);
        const { peer, added } = await daemon.home.addPeer(daemon.trust, pasted, 'web');
        return { ...peerJson(peer), added };
      },
    },

    'GET /api/peers': {
      handler: async ({ signal }) => ({
        peers: await Promise.all(
          daemon.trust.list().map(async (peer) => {
            const seen = await probe(daemon, peer, signal);
            const reason = 'reason' in seen ? seen.reason : null;
            const code = 'code' in seen ? seen.code : null;
            const pairing = stickyPairing(
              peer.nodeUuid,
              seen.state === 'online'
                ? 'both'
                : reason === 'refused-by-peer'
                  ? 'one-way'
                  : code === 'ERR_PEER_UNTRUSTED'
                    ? 'mismatch'
                    : 'unknown',
            );
            return {
              ...peerJson(peer),
              fingerprintGrouped: groupFingerprint(peer.fingerprint),
              address: seen.address,
              source: seen.source,
              lastSeen: seen.lastSeen,
              pairing,
              detail: 'error' in seen ? seen.error : null,
            };
          }),
        ),
      }),
    },

    'DELETE /api/peers/*': {
      handler: async (request) => {
        const nodeUuid = assertUuid(request.params[0], 'The node UUID');
        await reauth(request, await request.json());
        const removed = await daemon.home.removePeer(nodeUuid, 'web', daemon.trust);
        return { nodeUuid, label: removed.label, fingerprint: removed.fingerprint ?? null };
      },
    },

    'GET /api/keys': {
      handler: async () => {
        const active = daemon.home.config.activeKey;
        const keys = await daemon.home.keys.list();
        return {
          keys: keys.map((k) => ({
            keyUuid: k.keyUuid,
            bits: k.bits,
            fingerprint: k.fingerprint,
            fingerprintGrouped: groupFingerprint(k.fingerprint),
            createdAt: k.createdAt,
            active: k.keyUuid === active,
            hasPrivateKey: k.hasPrivateKey,
          })),
        };
      },
    },

    'POST /api/keys': {
      handler: async (request) => {
        const bits = (await request.json())['bits'];
        if (!GENERATE_RSA_BITS.includes(bits as (typeof GENERATE_RSA_BITS)[number])) {
          throw new ArozError(
            'ERR_BAD_REQUEST',
            `The key size must be one of ${GENERATE_RSA_BITS.join(', ')} bits`,
          );
        }
        const pair = await daemon.home.generateKey(bits as number, 'web', { signal: request.signal });
        return { keyUuid: pair.keyUuid, bits: pair.bits, fingerprint: pair.fingerprint, active: false };
      },
    },

    'POST /api/keys/activate': {
      handler: async (request) => {
        const body = await request.json();
        const keyUuid = assertUuid(body['keyUuid'], 'The key UUID');
        await reauth(request, body);
        const { pair, previous } = await daemon.activateKey(keyUuid, 'web');
        return {
          keyUuid,
          fingerprint: pair.fingerprint,
          previousKey: previous,
          changed: previous !== keyUuid,
        };
      },
    },

    'GET /api/cluster': {
      handler: async ({ signal }) => {
        const seen = discovered(daemon);
        const { stores, trash } = await daemon.info();
        return {
          self: {
            nodeUuid: daemon.nodeUuid,
            name: daemon.home.config.name,
            listen: daemon.listenAddress(),
            stores: stores.map((s) => ({ online: s.online, free: s.free, capacity: s.capacity })),
            trash: trash ?? null,
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
          nodes: await Promise.all(
            daemon.trust.list().map(async (peer) => {
              const n = await probe(daemon, peer, signal);
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
                stores: 'stores' in n ? n.stores : [],
                error: 'error' in n ? n.error : null,
              };
            }),
          ),
        };
      },
    },

    'GET /api/files': {
      handler: async ({ signal }) => {
        const dir = join(daemon.home.paths.home, 'indexes');
        const names = await readdir(dir).catch((err: unknown) => {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [] as string[];
          throw err;
        });
        const label = (node: string) =>
          node === daemon.nodeUuid ? daemon.home.config.name : (daemon.trust.get(node)?.label ?? null);
        const files = [];
        for (const name of names.filter((n) => n.endsWith('.json'))) {
          let index: IndexFile;
          try {
            index = await readIndexFile(join(dir, name), { signal });
          } catch (err) {
            if (isProgrammingError(err)) throw err;
            continue; // not an index (or damaged): `arozdfs check` names the problem
          }
          const nodes = [...new Set(index.chunks.flatMap((c) => (c.holders ?? []).map((h) => h.node)))];
          files.push({
            id: index.id,
            name: index.file.name,
            size: index.file.size,
            sha256: index.file.sha256,
            chunks: index.chunks.length,
            copies: index.redundancy.copies,
            shift: index.shift ?? null,
            createdAt: index.createdAt,
            nodes: nodes.map((nodeUuid) => ({ nodeUuid, label: label(nodeUuid) })),
            downloaded: await isDownloaded(daemon, index),
          });
        }
        files.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
        return { files };
      },
    },

    'POST /api/files/*/check': {
      handler: async ({ params, signal }) => {
        const index = await keptIndex(daemon, params[0] ?? '', signal);
        const report = await checkWithDaemon(daemon, index, { signal });
        const { summary } = report;
        // The worst state of any chunk, in the order `arozdfs check` reports failures.
        const worst = (['lost', 'mismatch', 'unknown', 'degraded'] as const).find((h) => summary[h] > 0);
        const health = worst ?? 'healthy';
        return { health, trusted: report.trusted, summary };
      },
    },

    'PUT /api/upload': {
      handler: async (request) => {
        const shift = optionalCount(request.query.get('shift'), 'The shift', 1, 1024);
        const copies = optionalCount(request.query.get('copies'), 'The number of copies', 1, 16);
        const file = await stageUpload(
          request.req,
          uploadsDir(daemon),
          request.query.get('name'),
          request.signal,
        );
        const job = await daemon.jobs.submit('upload', {
          file,
          staged: true,
          ...(shift !== undefined ? { shift } : {}),
          ...(copies !== undefined ? { copies } : {}),
        });
        return new WebStatus(202, { job });
      },
    },

    'POST /api/files/*/download': {
      handler: async ({ params, signal }) => {
        const index = await keptIndex(daemon, params[0] ?? '', signal);
        await ensureDir(dirname(downloadPath(daemon, index)), 0o700);
        const job = await daemon.jobs.submit('download', {
          index: keptIndexPath(daemon, index.id),
          out: downloadPath(daemon, index),
          force: true,
          name: index.file.name,
        });
        return new WebStatus(202, { job });
      },
    },

    'GET /api/files/*/content': {
      handler: async ({ params, signal, res, method }) => {
        const index = await keptIndex(daemon, params[0] ?? '', signal);
        const path = downloadPath(daemon, index);
        if (!(await isDownloaded(daemon, index))) {
          throw new ArozError('ERR_NOT_FOUND', `"${index.file.name}" is not downloaded to this node yet`);
        }
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': index.file.size,
          'content-disposition': contentDisposition(index.file.name),
          'cache-control': 'no-store',
        });
        if (method === 'HEAD') res.end();
        else await pipeline(createReadStream(path), res, { signal }).catch(() => res.destroy());
        return undefined;
      },
    },

    'DELETE /api/files/*/content': {
      handler: async ({ params, signal }) => {
        const index = await keptIndex(daemon, params[0] ?? '', signal);
        await rm(dirname(downloadPath(daemon, index)), { recursive: true, force: true });
        return { id: index.id, downloaded: false };
      },
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
      handler: async () => ({ jobs: daemon.jobs.list().reverse() }),
    },

    'POST /api/jobs/*/cancel': {
      handler: async ({ params }) => daemon.jobs.cancel(params[0] ?? ''),
    },
  };
}
