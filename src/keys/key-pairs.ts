/**
 * The node's own key pairs on disk, in ADDC/keypairs/ (file names from the seed):
 *   <key-uuid>_rsa      PKCS#8 PEM private key, 0600
 *   <key-uuid>_rsa.pub  SPKI PEM public key, 0600
 *   keys.json           when each key was made: {"version":1,"keys":{"<key-uuid>":{"createdAt":…}}}
 * A key is listed when its `.pub` file exists; a key without its private file is kept only to verify
 * old signatures. Which key is active is recorded in node.json, not here. Key files are written once
 * and never replaced.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError, fromSystemError, isArozError } from '../errors.ts';
import { assertUuid, isUuid } from '../uuid.ts';
import { spkiDerFromPem } from './pem.ts';
import {
  type KeyPair,
  keyPairFromPrivatePem,
  type PublicKeyInfo,
  privateKeyPem,
  publicKeyFromSpki,
  publicKeyPem,
} from './rsa.ts';
import { assertSecureFile, readSecureFile } from './secure-fs.ts';

const MAX_KEY_FILE = 64 * 1024;
const MAX_KEYS_JSON = 1024 * 1024;
const PUBLIC_SUFFIX = '_rsa.pub';

export interface LocalKeyInfo extends PublicKeyInfo {
  readonly keyUuid: string;
  /** ISO 8601 time the key was made (from keys.json, else the public key file's mtime). */
  readonly createdAt: string;
  /** False when only the public key is left (it still verifies old signatures). */
  readonly hasPrivateKey: boolean;
}

interface KeysJson {
  version: 1;
  keys: Record<string, { createdAt: string }>;
}

export class LocalKeyStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  privatePath(keyUuid: string): string {
    return join(this.dir, `${assertUuid(keyUuid, 'Key UUID')}_rsa`);
  }

  publicPath(keyUuid: string): string {
    return join(this.dir, `${assertUuid(keyUuid, 'Key UUID')}${PUBLIC_SUFFIX}`);
  }

  get keysJsonPath(): string {
    return join(this.dir, 'keys.json');
  }

  /** Every local key, oldest first. Refuses insecure key files (ERR_INSECURE_PATH). */
  async list(): Promise<LocalKeyInfo[]> {
    const names = await readdir(this.dir).catch((err: unknown) => {
      throw fromSystemError(err, `The key folder "${this.dir}"`);
    });
    const meta = await this.#readKeysJson();
    const keys: LocalKeyInfo[] = [];
    for (const name of names) {
      const keyUuid = name.endsWith(PUBLIC_SUFFIX) ? name.slice(0, -PUBLIC_SUFFIX.length) : '';
      if (!isUuid(keyUuid)) continue;
      const info = await this.#readPublic(keyUuid);
      const hasPrivateKey = await assertSecureFile(this.privatePath(keyUuid), true).then(
        () => true,
        (err: unknown) => {
          if (isArozError(err, 'ERR_FILE_NOT_FOUND')) return false;
          throw err;
        },
      );
      const createdAt =
        meta.keys[keyUuid]?.createdAt ??
        (await assertSecureFile(this.publicPath(keyUuid))).mtime.toISOString();
      keys.push({ ...info, keyUuid, createdAt, hasPrivateKey });
    }
    return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyUuid.localeCompare(b.keyUuid));
  }

  /** Loads a key pair and checks that its two files belong together. ERR_KEY_NOT_FOUND if absent. */
  async load(keyUuid: string): Promise<KeyPair> {
    const path = this.privatePath(keyUuid);
    let pem: Buffer;
    try {
      pem = await readSecureFile(path, { maxBytes: MAX_KEY_FILE, secret: true });
    } catch (err) {
      if (isArozError(err, 'ERR_FILE_NOT_FOUND')) {
        throw new ArozError('ERR_KEY_NOT_FOUND', `No local key pair "${keyUuid}" (no file "${path}")`);
      }
      throw err;
    }
    const pair = keyPairFromPrivatePem(keyUuid, pem.toString('utf8'), `The private key "${path}"`);
    const pub = await this.#readPublic(keyUuid);
    if (!pub.spkiDer.equals(pair.spkiDer)) {
      throw new ArozError(
        'ERR_KEY_INVALID',
        `"${this.publicPath(keyUuid)}" is not the public key of "${path}"`,
      );
    }
    return pair;
  }

  /** Writes a new key pair (never replacing files) and records when it was made. */
  async save(pair: KeyPair, createdAt = new Date()): Promise<void> {
    const written: string[] = [];
    try {
      for (const [path, text] of [
        [this.privatePath(pair.keyUuid), privateKeyPem(pair)],
        [this.publicPath(pair.keyUuid), publicKeyPem(pair)],
      ] as const) {
        await writeFileAtomic(path, text, { mode: 0o600 });
        written.push(path);
      }
      const meta = await this.#readKeysJson();
      meta.keys[pair.keyUuid] = { createdAt: createdAt.toISOString() };
      await writeFileAtomic(this.keysJsonPath, `${JSON.stringify(meta, null, 2)}\n`, {
        mode: 0o600,
        overwrite: true,
      });
    } catch (err) {
      for (const path of written) await rm(path, { force: true });
      throw err;
    }
  }

  async #readPublic(keyUuid: string): Promise<PublicKeyInfo> {
    const path = this.publicPath(keyUuid);
    const text = (await readSecureFile(path, { maxBytes: MAX_KEY_FILE })).toString('utf8');
    return publicKeyFromSpki(spkiDerFromPem(text, `"${path}"`), `The public key "${path}"`);
  }

  async #readKeysJson(): Promise<KeysJson> {
    const path = this.keysJsonPath;
    let text: string;
    try {
      text = (await readSecureFile(path, { maxBytes: MAX_KEYS_JSON, tooLarge: 'ERR_HOME_INVALID' })).toString(
        'utf8',
      );
    } catch (err) {
      if (isArozError(err, 'ERR_FILE_NOT_FOUND')) return { version: 1, keys: {} };
      throw err;
    }
    const meta = parseKeysJson(text);
    if (meta === undefined) throw new ArozError('ERR_HOME_INVALID', `"${path}" is not a valid keys.json`);
    return meta;
  }
}

function parseKeysJson(text: string): KeysJson | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { version, keys } = value as Record<string, unknown>;
  if (version !== 1 || typeof keys !== 'object' || keys === null || Array.isArray(keys)) return undefined;
  const out: KeysJson = { version: 1, keys: {} };
  for (const [uuid, entry] of Object.entries(keys)) {
    const createdAt = (entry as { createdAt?: unknown } | null)?.createdAt;
    if (!isUuid(uuid) || typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)))
      return undefined;
    out.keys[uuid] = { createdAt };
  }
  return out;
}
