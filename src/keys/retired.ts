/**
 * Retired peer keys (docs/pairing.md "Removing a node"): when a person removes a node with
 * `peers remove`, its key leaves the trust store — no connection, no new catalog statement is accepted
 * from it — but is kept here, in `ADDC/retired-peers.json` (0600), so that the indexes the catalog
 * accepted from it while it was trusted stay readable: download, check and repair of its files work
 * without `--allow-untrusted-index`. A retired key never verifies an index the catalog does not hold
 * (the caller checks that), a statement, or a connection. `peers remove --compromised` retires
 * nothing and drops an earlier retired key of that node: its indexes are then untrusted again.
 */
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError, isArozError } from '../errors.ts';
import { isUuid } from '../uuid.ts';
import type { SignerKey } from './index-signature.ts';
import { type PublicKeyInfo, publicKeyFromSpki } from './rsa.ts';
import { readSecureFile } from './secure-fs.ts';

const MAX_BYTES = 4 * 1024 * 1024;

export interface RetiredPeer {
  nodeUuid: string;
  label: string;
  fingerprint: string;
  /** SPKI DER, base64. */
  spki: string;
  removedAt: string;
}

interface RetiredFile {
  version: 1;
  peers: RetiredPeer[];
}

/** The retired peers listed in `path` (none when the file does not exist). */
export async function readRetired(path: string): Promise<RetiredPeer[]> {
  let text: string;
  try {
    text = (await readSecureFile(path, { maxBytes: MAX_BYTES, tooLarge: 'ERR_HOME_INVALID' })).toString(
      'utf8',
    );
  } catch (err) {
    if (isArozError(err, 'ERR_FILE_NOT_FOUND')) return [];
    throw err;
  }
  const bad = () =>
    new ArozError('ERR_HOME_INVALID', `"${path}" is damaged: it is not a list of retired peers`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad();
  }
  const file = value as Partial<RetiredFile>;
  if (file?.version !== 1 || !Array.isArray(file.peers)) throw bad();
  for (const p of file.peers) {
    if (!isUuid(p?.nodeUuid) || typeof p.spki !== 'string' || typeof p.fingerprint !== 'string') throw bad();
  }
  return file.peers;
}

/** The keys of the retired peers, as index signers (each owned by its node). */
export function retiredSigners(peers: readonly RetiredPeer[]): SignerKey[] {
  return peers.map((p) => ({
    ...publicKeyFromSpki(Buffer.from(p.spki, 'base64'), `The retired key of node "${p.nodeUuid}"`),
    owner: p.nodeUuid,
  }));
}

/**
 * Records the key of node `nodeUuid` (its pinned key, when known) as retired; `compromised` drops every
 * retired key of that node instead. Keeps the other nodes' entries; a node's same key is listed once.
 */
export function retirePeer(
  path: string,
  nodeUuid: string,
  peer: (PublicKeyInfo & { label: string }) | undefined,
  options: { compromised: boolean; now?: Date },
): Promise<void> {
  // One change at a time per file in this process (two removals at once must not lose one).
  const run = (queues.get(path) ?? Promise.resolve()).then(() => retireNow(path, nodeUuid, peer, options));
  const settled = run.catch(() => {});
  queues.set(path, settled);
  void settled.then(() => {
    if (queues.get(path) === settled) queues.delete(path);
  });
  return run;
}

const queues = new Map<string, Promise<void>>();

async function retireNow(
  path: string,
  nodeUuid: string,
  peer: (PublicKeyInfo & { label: string }) | undefined,
  options: { compromised: boolean; now?: Date },
): Promise<void> {
  if (peer === undefined && !options.compromised) return;
  const peers = (await readRetired(path)).filter(
    (p) => p.nodeUuid !== nodeUuid || (!options.compromised && p.fingerprint !== peer?.fingerprint),
  );
  if (!options.compromised && peer !== undefined) {
    peers.push({
      nodeUuid,
      label: peer.label,
      fingerprint: peer.fingerprint,
      spki: peer.spkiDer.toString('base64'),
      removedAt: (options.now ?? new Date()).toISOString(),
    });
  }
  const file: RetiredFile = { version: 1, peers };
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, overwrite: true });
}
