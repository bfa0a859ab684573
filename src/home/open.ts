/**
 * Opening an existing node home: checks that it is one (ERR_HOME_NOT_FOUND: "run arozdfs init"), that
 * no one else could have written its ADDC folders (ERR_INSECURE_PATH), reads node.json, and clears
 * temp files that crashed writers left behind. `NodeHome` then hands out the local keys, the trust
 * store, the audit log and the keys that verify index signatures.
 */
import { lstat, readdir, realpath, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempName } from '../durable/index.ts';
import { ArozError, fromSystemError, isArozError, isProgrammingError } from '../errors.ts';
import { type SignerKey, signerKeys } from '../keys/index-signature.ts';
import { LocalKeyStore } from '../keys/key-pairs.ts';
import { readRetired, retiredSigners, retirePeer } from '../keys/retired.ts';
import { generateKeyPair, type KeyPair, type PublicKeyInfo } from '../keys/rsa.ts';
import { assertSecureChain } from '../keys/secure-fs.ts';
import { type PinnedPeer, TrustStore } from '../keys/trust-store.ts';
import { type AuditEntry, type AuditSource, appendAudit } from './audit.ts';
import { INIT_TEMP_PREFIX, INIT_TEMP_SUFFIX } from './init.ts';
import { type NodeConfig, readNodeConfig, writeNodeConfig } from './node-config.ts';
import { ADDC, type HomePaths, homePaths } from './paths.ts';

/** Temp files younger than this may belong to a writer still running; they are left alone. */
const STALE_AFTER_MS = 10 * 60 * 1000;

export class NodeHome {
  readonly paths: HomePaths;
  readonly keys: LocalKeyStore;
  #config: NodeConfig;

  private constructor(paths: HomePaths, config: NodeConfig) {
    this.paths = paths;
    this.keys = new LocalKeyStore(paths.keypairs);
    this.#config = config;
  }

  /** Opens the home at `home` (see the module comment for what is checked). */
  static async open(home: string): Promise<NodeHome> {
    let real: string;
    try {
      if (!(await stat(home)).isDirectory()) {
        throw new ArozError('ERR_NOT_A_DIRECTORY', `The home "${home}" is not a folder`);
      }
      real = await realpath(home);
      await lstat(join(real, ADDC));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ArozError('ERR_HOME_NOT_FOUND', `No node home at "${home}": run "arozdfs init" first`, {
          cause: err,
        });
      }
      throw fromSystemError(err, `The home "${home}"`);
    }
    const paths = homePaths(real);
    try {
      await assertSecureChain(paths.home, paths.remote);
    } catch (err) {
      if (isArozError(err, 'ERR_FILE_NOT_FOUND')) {
        throw new ArozError('ERR_HOME_INVALID', `The node home "${home}" is damaged: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
    await removeOldTemps(paths);
    return new NodeHome(paths, await readNodeConfig(paths.nodeJson));
  }

  get config(): NodeConfig {
    return this.#config;
  }

  /** The identity key pair named by node.json's `activeKey`. */
  async activeKeyPair(): Promise<KeyPair> {
    try {
      return await this.keys.load(this.#config.activeKey);
    } catch (err) {
      if (isArozError(err, 'ERR_KEY_NOT_FOUND')) {
        throw new ArozError(
          'ERR_HOME_INVALID',
          `The active key of "${this.paths.nodeJson}" is missing: ${err.message}`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }

  /** Makes and saves a new key pair (not active), with its audit line. */
  async generateKey(
    bits: number,
    from: AuditSource,
    options: { signal?: AbortSignal } = {},
  ): Promise<KeyPair> {
    const pair = await generateKeyPair(bits, options);
    await this.keys.save(pair);
    await this.audit({ action: 'key-generate', keyUuid: pair.keyUuid, fingerprint: pair.fingerprint, from });
    return pair;
  }

  /** Switches the identity key, with its audit line. Returns the new pair and the previous key UUID. */
  async activateKey(keyUuid: string, from: AuditSource): Promise<{ pair: KeyPair; previous: string }> {
    const previous = this.#config.activeKey;
    const pair = await this.setActiveKey(keyUuid);
    await this.audit({ action: 'key-activate', keyUuid, fingerprint: pair.fingerprint, from });
    return { pair, previous };
  }

  /** Changes node.json (validated, written atomically) and returns the new config. */
  async updateConfig(changes: Partial<NodeConfig>): Promise<NodeConfig> {
    const next = { ...this.#config, ...changes };
    await writeNodeConfig(this.paths.nodeJson, next, true);
    this.#config = next;
    return next;
  }

  /** Makes `keyUuid` (a complete local key pair) the identity key and records it in node.json. */
  async setActiveKey(keyUuid: string): Promise<KeyPair> {
    const pair = await this.keys.load(keyUuid);
    const next = { ...this.#config, activeKey: pair.keyUuid };
    await writeNodeConfig(this.paths.nodeJson, next, true);
    this.#config = next;
    return pair;
  }

  /** The trust store, loaded; it knows this node's UUID and every local key so it never pins them. */
  async trustStore(): Promise<TrustStore> {
    const own = await this.keys.list();
    return this.#trustStore(own.map((key) => key.spkiDer)).load();
  }

  #trustStore(selfKeys: Buffer[]): TrustStore {
    return new TrustStore(this.paths.remote, {
      root: this.paths.home,
      selfUuid: this.#config.nodeUuid,
      selfKeys,
    });
  }

  /** Pins a peer's key (after a person confirmed it) and records it in the audit log. */
  async addPeer(
    trust: TrustStore,
    peer: { nodeUuid: string; key: PublicKeyInfo; label: string },
    from: AuditSource,
  ): Promise<{ peer: PinnedPeer; added: boolean }> {
    const result = await trust.add(peer.nodeUuid, peer.key, peer.label);
    if (!result.added) return result;
    try {
      await this.audit({
        action: 'trust',
        nodeUuid: peer.nodeUuid,
        fingerprint: peer.key.fingerprint,
        label: result.peer.label,
        from,
      });
    } catch (err) {
      await trust.remove(peer.nodeUuid); // no trust without its audit line
      throw err;
    }
    return result;
  }

  /**
   * Revokes trust in a peer and records it. Works without a loaded trust store (a damaged key file
   * that stops loading can still be removed); pass the daemon's store so its listeners hear it. Its
   * key is kept as retired (src/keys/retired.ts) so the indexes the catalog accepted from it stay
   * readable — unless `compromised`, which retires nothing and drops a key an earlier removal retired
   * (then a node no longer pinned is not an error).
   */
  async removePeer(
    nodeUuid: string,
    from: AuditSource,
    trust?: TrustStore,
    options: { compromised?: boolean } = {},
  ) {
    const store = trust ?? this.#trustStore([]);
    const pinned =
      trust?.get(nodeUuid) ??
      (await this.trustStore().then(
        (loaded) => loaded.get(nodeUuid),
        (err: unknown) => {
          if (isProgrammingError(err)) throw err;
          return undefined; // a damaged trust store: the peer is removed all the same
        },
      ));
    const compromised = options.compromised === true;
    const retired = (await readRetired(this.paths.retiredPeers)).find((p) => p.nodeUuid === nodeUuid);
    let removed: { nodeUuid: string; label: string; fingerprint: string | undefined };
    if (pinned === undefined && compromised && retired !== undefined) {
      // Removed earlier: only its retired key goes now.
      removed = { nodeUuid, label: retired.label, fingerprint: retired.fingerprint };
    } else {
      removed = await store.remove(nodeUuid);
    }
    // After the removal: a failure here leaves the node removed and its key not retired (the safe side).
    await retirePeer(this.paths.retiredPeers, nodeUuid, pinned, { compromised });
    await this.audit({
      action: 'revoke',
      nodeUuid,
      fingerprint: removed.fingerprint ?? null,
      label: removed.label,
      from,
    });
    return removed;
  }

  /**
   * The keys of removed peers, kept for reading the indexes the catalog accepted from them while they
   * were trusted (never for an index the catalog does not hold).
   */
  async retiredSigners(): Promise<SignerKey[]> {
    return retiredSigners(await readRetired(this.paths.retiredPeers));
  }

  /** The keys an index signature is checked against: own keys (active and retired) and peers'. */
  async indexSigners(trust?: Pick<TrustStore, 'list'>): Promise<SignerKey[]> {
    const peers = (trust ?? (await this.trustStore())).list();
    return signerKeys({ nodeUuid: this.#config.nodeUuid, keys: await this.keys.list() }, peers);
  }

  async audit(entry: AuditEntry): Promise<void> {
    await appendAudit(this.paths.auditLog, entry);
  }
}

export function openHome(home: string): Promise<NodeHome> {
  return NodeHome.open(home);
}

/**
 * Removes what crashed writers left: temp files in the ADDC folders and unfinished init folders in
 * the home, older than STALE_AFTER_MS. Best effort: a read-only home is not an error here.
 */
async function removeOldTemps(paths: HomePaths): Promise<void> {
  const before = Date.now() - STALE_AFTER_MS;
  for (const dir of [paths.home, paths.addc, paths.keypairs, paths.remote]) {
    try {
      for (const name of await readdir(dir)) {
        const initTemp =
          dir === paths.home && name.startsWith(INIT_TEMP_PREFIX) && name.endsWith(INIT_TEMP_SUFFIX);
        if (!initTemp && (dir === paths.home || !isTempName(name))) continue;
        const path = join(dir, name);
        if ((await lstat(path)).mtimeMs < before) await rm(path, { recursive: initTemp, force: true });
      }
    } catch (err) {
      if (isProgrammingError(err)) throw err;
      // A read-only or concurrently changed folder: leave the temp files for the next start.
    }
  }
}
