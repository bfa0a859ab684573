/**
 * `init`: makes a node home. Everything of ADDC/ is built in a temp folder beside it and renamed into
 * place at the end, so a home is either complete or absent, and of two inits racing on one home
 * exactly one succeeds (rename refuses to replace a non-empty ADDC; the loser gets ERR_HOME_EXISTS).
 * An existing home is never changed.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fsyncDir } from '../durable/index.ts';
import { ArozError, fromSystemError } from '../errors.ts';
import { LocalKeyStore } from '../keys/key-pairs.ts';
import { isCleanLabel, sanitizeLabel } from '../keys/label.ts';
import { DEFAULT_RSA_BITS, generateKeyPair, INIT_RSA_BITS, type KeyPair } from '../keys/rsa.ts';
import { assertSecureDir } from '../keys/secure-fs.ts';
import { newUuid } from '../uuid.ts';
import { appendAudit } from './audit.ts';
import { NODE_CONFIG_VERSION, type NodeConfig, writeNodeConfig } from './node-config.ts';
import { ADDC, addcPaths, DIR_MODE, type HomePaths, homePaths } from './paths.ts';

/** Temp folders of unfinished inits: `.ADDC.<random>.arozdfs-tmp` in the home. */
export const INIT_TEMP_PREFIX = `.${ADDC}.`;
export const INIT_TEMP_SUFFIX = '.arozdfs-tmp';

export interface InitOptions {
  /** Node name, 1–64 characters without control characters (default: the host name). */
  name?: string;
  /** RSA key size: 3072 (default) or 4096. */
  bits?: number;
  signal?: AbortSignal;
}

export interface InitResult {
  paths: HomePaths;
  config: NodeConfig;
  keyPair: KeyPair;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fromSystemError(err, `"${path}"`);
  }
}

/** Creates the home folder if needed (0700) and returns its real path; refuses a non-folder. */
async function prepareHome(home: string): Promise<string> {
  try {
    const stats = await stat(home);
    if (!stats.isDirectory())
      throw new ArozError('ERR_NOT_A_DIRECTORY', `The home "${home}" is not a folder`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, `The home "${home}"`);
    try {
      await mkdir(home, { recursive: true, mode: DIR_MODE });
    } catch (mkdirErr) {
      throw fromSystemError(mkdirErr, `Cannot create the home "${home}"`);
    }
  }
  const real = await realpath(home);
  await assertSecureDir(real);
  return real;
}

export async function initHome(home: string, options: InitOptions = {}): Promise<InitResult> {
  const name = options.name ?? (sanitizeLabel(hostname()) || 'arozdfs-node');
  if (!isCleanLabel(name)) {
    throw new ArozError(
      'ERR_USAGE',
      `The node name ${JSON.stringify(name.slice(0, 80))} must be 1–64 characters without control characters, "<" or ">"`,
    );
  }
  const bits = options.bits ?? DEFAULT_RSA_BITS;
  if (!(INIT_RSA_BITS as readonly number[]).includes(bits)) {
    throw new ArozError(
      'ERR_KEY_UNSUPPORTED',
      `init makes RSA keys of ${INIT_RSA_BITS.join(' or ')} bits, not "${bits}"`,
    );
  }
  const real = await prepareHome(home);
  const paths = homePaths(real);
  if (await exists(paths.addc)) {
    throw new ArozError(
      'ERR_HOME_EXISTS',
      `"${home}" is already a node home (it has ${ADDC}/); nothing was changed`,
    );
  }
  const temp = join(real, `${INIT_TEMP_PREFIX}${randomBytes(6).toString('hex')}${INIT_TEMP_SUFFIX}`);
  try {
    await mkdir(temp, { mode: DIR_MODE });
  } catch (err) {
    throw fromSystemError(err, `Cannot create the node home in "${home}"`);
  }
  try {
    const keyPair = await generateKeyPair(bits, options.signal ? { signal: options.signal } : {});
    const tempPaths = addcPaths(temp);
    await mkdir(tempPaths.keypairs, { mode: DIR_MODE });
    await mkdir(tempPaths.remote, { mode: DIR_MODE });
    const now = new Date();
    await new LocalKeyStore(tempPaths.keypairs).save(keyPair, now);
    const config: NodeConfig = {
      version: NODE_CONFIG_VERSION,
      nodeUuid: newUuid(),
      name,
      activeKey: keyPair.keyUuid,
      createdAt: now.toISOString(),
    };
    await writeNodeConfig(tempPaths.nodeJson, config, false);
    await appendAudit(tempPaths.auditLog, {
      action: 'key-generate',
      keyUuid: keyPair.keyUuid,
      fingerprint: keyPair.fingerprint,
      from: 'cli',
    });
    options.signal?.throwIfAborted();
    try {
      await rename(temp, paths.addc);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new ArozError(
          'ERR_HOME_EXISTS',
          `"${home}" became a node home meanwhile (another init won); nothing was changed`,
        );
      }
      throw fromSystemError(err, `Cannot create "${paths.addc}"`);
    }
    await fsyncDir(real);
    return { paths, config, keyPair };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
