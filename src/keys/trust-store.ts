/**
 * The trust store: the public keys of peers a person pinned, one per node UUID, in
 * ADDC/keypairs/remote/ (`<node-uuid>_rsa.pub`, SPKI PEM, 0600; beside it `<node-uuid>.json` holds the
 * label and when it was added). Whoever can write that folder can add trust, so loading refuses
 * insecure folders and files. Listeners hear 'added' and 'removed' (the daemon closes a removed
 * peer's connections). It never adds a key on its own: only `add`, called after a person confirmed.
 */
import { timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../durable/index.ts';
import { ArozError, fromSystemError, isArozError, isProgrammingError } from '../errors.ts';
import { assertUuid, isUuid } from '../uuid.ts';
import { sanitizeLabel } from './label.ts';
import { spkiDerFromPem } from './pem.ts';
import { type PublicKeyInfo, publicKeyFromSpki, publicKeyPem } from './rsa.ts';
import { assertSecureChain, readSecureFile } from './secure-fs.ts';

const MAX_FILE = 64 * 1024;
const KEY_SUFFIX = '_rsa.pub';

export interface PinnedPeer extends PublicKeyInfo {
  readonly nodeUuid: string;
  readonly label: string;
  /** ISO 8601 time it was pinned, when known. */
  readonly addedAt: string | undefined;
}

export interface TrustStoreOptions {
  /** Top of the folder chain checked on load (the node home). Default: the folder itself. */
  root?: string;
  /** This node's UUID: never pinned as a peer. */
  selfUuid: string;
  /** SPKI DER of this node's own keys (active and retired): never pinned as a peer's. */
  selfKeys: readonly Uint8Array[];
}

export interface TrustChanges {
  added: PinnedPeer[];
  removed: PinnedPeer[];
}

export class TrustStore extends EventEmitter<{ added: [PinnedPeer]; removed: [PinnedPeer] }> {
  readonly dir: string;
  #root: string;
  #selfUuid: string;
  #selfKeys: Buffer[];
  #peers = new Map<string, PinnedPeer>();
  #loaded = false;
  #queue: Promise<void> = Promise.resolve();

  constructor(dir: string, options: TrustStoreOptions) {
    super();
    this.dir = dir;
    this.#root = options.root ?? dir;
    this.#selfUuid = options.selfUuid;
    this.#selfKeys = options.selfKeys.map((k) => Buffer.from(k));
  }

  keyPath(nodeUuid: string): string {
    return join(this.dir, `${assertUuid(nodeUuid, 'Node UUID')}${KEY_SUFFIX}`);
  }

  labelPath(nodeUuid: string): string {
    return join(this.dir, `${assertUuid(nodeUuid, 'Node UUID')}.json`);
  }

  /** Reads every pinned key. Throws ERR_INSECURE_PATH, ERR_KEY_INVALID or ERR_KEY_UNSUPPORTED naming the file. */
  async load(): Promise<this> {
    this.#peers = await this.#readAll();
    this.#loaded = true;
    return this;
  }

  /**
   * Reads the folder again and reports what changed (a key file deleted or added by hand), emitting
   * 'removed' then 'added'. On error the state in memory stays as it was.
   */
  reload(): Promise<TrustChanges> {
    return this.#serial(() => this.#reload());
  }

  async #reload(): Promise<TrustChanges> {
    const next = await this.#readAll();
    const changes: TrustChanges = { added: [], removed: [] };
    for (const [uuid, peer] of this.#peers) {
      if (!next.get(uuid)?.spkiDer.equals(peer.spkiDer)) changes.removed.push(peer);
    }
    for (const [uuid, peer] of next) {
      if (!this.#peers.get(uuid)?.spkiDer.equals(peer.spkiDer)) changes.added.push(peer);
    }
    this.#peers = next;
    this.#loaded = true;
    for (const peer of changes.removed) this.emit('removed', peer);
    for (const peer of changes.added) this.emit('added', peer);
    return changes;
  }

  get(nodeUuid: string): PinnedPeer | undefined {
    return this.#peers.get(nodeUuid);
  }

  /** Pinned peers, by label then UUID. */
  list(): PinnedPeer[] {
    return [...this.#peers.values()].sort(
      (a, b) => a.label.localeCompare(b.label) || a.nodeUuid.localeCompare(b.nodeUuid),
    );
  }

  /** Is `spkiDer` exactly the key pinned for `nodeUuid`? (constant-time compare) */
  isPinned(nodeUuid: string, spkiDer: Uint8Array): boolean {
    const pinned = this.#peers.get(nodeUuid)?.spkiDer;
    return pinned !== undefined && pinned.length === spkiDer.length && timingSafeEqual(pinned, spkiDer);
  }

  /**
   * Would `add` accept this? 'new' or 'pinned' (already trusted, nothing to do). Throws ERR_PEER_SELF
   * for this node's own UUID or key, ERR_PEER_CONFLICT for a UUID pinned with another key or a key
   * pinned under another UUID.
   */
  check(nodeUuid: string, key: PublicKeyInfo): 'new' | 'pinned' {
    this.#assertLoaded();
    assertUuid(nodeUuid, 'Node UUID');
    if (nodeUuid === this.#selfUuid) {
      throw new ArozError(
        'ERR_PEER_SELF',
        `"${nodeUuid}" is this node's own UUID; paste the OTHER node's pairing string`,
      );
    }
    if (this.#selfKeys.some((own) => own.equals(key.spkiDer))) {
      throw new ArozError(
        'ERR_PEER_SELF',
        `The key ${key.fingerprint} is this node's own key; paste the OTHER node's`,
      );
    }
    const existing = this.#peers.get(nodeUuid);
    if (existing !== undefined) {
      if (existing.spkiDer.equals(key.spkiDer)) return 'pinned';
      throw new ArozError(
        'ERR_PEER_CONFLICT',
        `Node "${nodeUuid}" is already trusted with another key (${existing.fingerprint}); if it really changed its key, first run "arozdfs peers remove ${nodeUuid}"`,
      );
    }
    for (const peer of this.#peers.values()) {
      if (peer.spkiDer.equals(key.spkiDer)) {
        throw new ArozError(
          'ERR_PEER_CONFLICT',
          `The key ${key.fingerprint} is already trusted for node "${peer.nodeUuid}"; one key belongs to one node`,
        );
      }
    }
    return 'new';
  }

  /** Pins `key` for `nodeUuid` (after `check`). Returns the peer and whether it was new. */
  add(nodeUuid: string, key: PublicKeyInfo, label: string): Promise<{ peer: PinnedPeer; added: boolean }> {
    return this.#serial(() => this.#add(nodeUuid, key, label));
  }

  async #add(
    nodeUuid: string,
    key: PublicKeyInfo,
    label: string,
  ): Promise<{ peer: PinnedPeer; added: boolean }> {
    if (this.check(nodeUuid, key) === 'pinned') return { peer: this.#peers.get(nodeUuid)!, added: false };
    const peer: PinnedPeer = {
      ...key,
      nodeUuid,
      label: sanitizeLabel(label),
      addedAt: new Date().toISOString(),
    };
    const sidecar = { version: 1, nodeUuid, label: peer.label, addedAt: peer.addedAt };
    await writeFileAtomic(this.labelPath(nodeUuid), `${JSON.stringify(sidecar, null, 2)}\n`, {
      mode: 0o600,
      overwrite: true,
    });
    try {
      await writeFileAtomic(this.keyPath(nodeUuid), publicKeyPem(key), { mode: 0o600 });
    } catch (err) {
      await rm(this.labelPath(nodeUuid), { force: true });
      if (isArozError(err, 'ERR_OUTPUT_EXISTS')) {
        throw new ArozError(
          'ERR_PEER_CONFLICT',
          `A key for node "${nodeUuid}" was added meanwhile; list the peers again`,
        );
      }
      throw err;
    }
    this.#peers.set(nodeUuid, peer);
    this.emit('added', peer);
    return { peer, added: true };
  }

  /**
   * Revokes trust in `nodeUuid`: deletes its key and label files. Works even when the key file is
   * unreadable (so a damaged entry can always be removed). ERR_PEER_NOT_FOUND if nothing was pinned.
   * Returns what was removed (its fingerprint is undefined when the key file was unreadable).
   */
  remove(nodeUuid: string): Promise<{ nodeUuid: string; label: string; fingerprint: string | undefined }> {
    return this.#serial(() => this.#remove(nodeUuid));
  }

  async #remove(
    nodeUuid: string,
  ): Promise<{ nodeUuid: string; label: string; fingerprint: string | undefined }> {
    const path = this.keyPath(nodeUuid);
    const known =
      this.#peers.get(nodeUuid) ??
      (await this.#readPeer(nodeUuid).catch((err: unknown) => {
        if (isProgrammingError(err)) throw err;
        return undefined; // unreadable or insecure: remove it all the same
      }));
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw fromSystemError(err, `Cannot remove "${path}"`);
      throw new ArozError('ERR_PEER_NOT_FOUND', `No trusted node has the UUID "${nodeUuid}"`);
    }
    await rm(this.labelPath(nodeUuid), { force: true });
    await fsyncDir(this.dir);
    this.#peers.delete(nodeUuid);
    if (known !== undefined) this.emit('removed', known);
    return { nodeUuid, label: known?.label ?? '', fingerprint: known?.fingerprint };
  }

  /** Changes to the folder and the map run one at a time (a reload must not race an add). */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.then(
      () => {},
      () => {},
    );
    return next;
  }

  #assertLoaded(): void {
    if (!this.#loaded) throw new Error('TrustStore: call load() before using it');
  }

  async #readAll(): Promise<Map<string, PinnedPeer>> {
    await assertSecureChain(this.#root, this.dir);
    const names = await readdir(this.dir).catch((err: unknown) => {
      throw fromSystemError(err, `The trust folder "${this.dir}"`);
    });
    const peers = new Map<string, PinnedPeer>();
    for (const name of names.sort()) {
      const uuid = name.endsWith(KEY_SUFFIX) ? name.slice(0, -KEY_SUFFIX.length) : '';
      if (isUuid(uuid)) peers.set(uuid, await this.#readPeer(uuid));
    }
    return peers;
  }

  async #readPeer(nodeUuid: string): Promise<PinnedPeer> {
    const path = this.keyPath(nodeUuid);
    const text = (await readSecureFile(path, { maxBytes: MAX_FILE })).toString('utf8');
    const key = publicKeyFromSpki(spkiDerFromPem(text, `"${path}"`), `The trusted key "${path}"`);
    let label = '';
    let addedAt: string | undefined;
    try {
      const sidecar = JSON.parse(
        (await readSecureFile(this.labelPath(nodeUuid), { maxBytes: MAX_FILE })).toString('utf8'),
      ) as unknown;
      if (typeof sidecar === 'object' && sidecar !== null) {
        const fields = sidecar as Record<string, unknown>;
        if (typeof fields['label'] === 'string') label = sanitizeLabel(fields['label']);
        if (typeof fields['addedAt'] === 'string') addedAt = fields['addedAt'];
      }
    } catch (err) {
      // A missing or malformed label is only cosmetic; an insecure one is refused like a key.
      if (isArozError(err) && err.code !== 'ERR_FILE_NOT_FOUND') throw err;
      if (!isArozError(err) && !(err instanceof SyntaxError)) throw err;
    }
    return { ...key, nodeUuid, label, addedAt };
  }
}
