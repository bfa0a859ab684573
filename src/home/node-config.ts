/**
 * ADDC/node.json: who this node is (docs/config.md). Validated on every load; a damaged file is
 * ERR_HOME_INVALID naming the file and the field. Fields this version does not know are kept as they
 * are when the file is written again.
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError } from '../errors.ts';
import { isCleanLabel } from '../keys/label.ts';
import { readSecureFile } from '../keys/secure-fs.ts';
import { isUuid } from '../uuid.ts';
import { FILE_MODE } from './paths.ts';

export const NODE_CONFIG_VERSION = 1;
const MAX_NODE_JSON = 1024 * 1024;
/** Static peer addresses node.json may hold. */
export const MAX_PEER_ADDRESSES = 256;
/** How long a deleted chunk stays in the trash by default: a day (docs/config.md). */
export const DEFAULT_TRASH_GRACE_SECONDS = 24 * 60 * 60;
/** The longest grace period node.json may set: ten years. */
const MAX_TRASH_GRACE_SECONDS = 10 * 365 * 24 * 60 * 60;

export interface NodeConfig {
  version: typeof NODE_CONFIG_VERSION;
  /** This node's UUID (v4, canonical lower case); never changes. */
  nodeUuid: string;
  /** A name for people, 1–64 characters; the label in this node's pairing string. */
  name: string;
  /** UUID of the key pair in ADDC/keypairs/ that is this node's identity. */
  activeKey: string;
  /** ISO 8601 time of `init`. */
  createdAt: string;
  /** Cluster address `host:port` for `serve` (default 0.0.0.0:7420). */
  listen?: string;
  /** Absolute paths of extra chunk stores (external disks). */
  stores?: string[];
  /** `serve`'s web UI address `host:port`, or `off` (default 127.0.0.1:7421). */
  web?: string;
  /** `serve` serves the web UI over HTTPS on a loopback address too (default false). */
  webTls?: boolean;
  /** `serve` announces and browses on the LAN (default true). */
  discovery?: boolean;
  /** `serve` announces and browses only on the interface with this IP address. */
  mdnsInterface?: string;
  /** Seconds a deleted chunk stays in the trash before the daemon purges it (default a day). */
  trashGraceSeconds?: number;
  /** The scrub reads every chunk once in about this many seconds (default 30 days). */
  scrubPassSeconds?: number;
  /** The scrub reads at most this many bytes per second (default 16 MiB/s; 0 turns it off). */
  scrubMaxBytesPerSecond?: number;
  /** Seconds between two catalog syncs with each peer (default 60). */
  catalogSyncSeconds?: number;
  /** Seconds a peer may be unreachable before repair stops counting its copies (default 15 minutes). */
  repairGoneSeconds?: number;
  /** Seconds between two periodic repair passes (default 10 minutes; 0 turns them off). */
  repairIntervalSeconds?: number;
  /** Seconds an unreferenced copy must have been stored before it is an orphan (default a day). */
  orphanAgeSeconds?: number;
  /** Serve `/metrics` on the web UI's listener (default false; docs/web.md "Metrics"). */
  metrics?: boolean;
  /** SHA-256 (64 lower-case hex digits) of the bearer token that may read `/metrics`. */
  metricsTokenSha256?: string;
  /** Static addresses of trusted nodes (`host:port` by node UUID), set from the web UI; like `serve --peer`. */
  peerAddresses?: Record<string, string>;
  /** Jobs (uploads, downloads, batches, repairs) the daemon runs at once (default 4). */
  jobConcurrency?: number;
  [key: string]: unknown;
}

/** Checks a parsed node.json; `path` names the file in errors. */
export function validateNodeConfig(value: unknown, path: string): NodeConfig {
  const bad = (what: string) => new ArozError('ERR_HOME_INVALID', `"${path}" is damaged: ${what}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad('it is not a JSON object');
  const c = value as Record<string, unknown>;
  if (c['version'] !== NODE_CONFIG_VERSION) {
    throw bad(
      `"version" is ${JSON.stringify(c['version'])}; this arozdfs reads version ${NODE_CONFIG_VERSION}`,
    );
  }
  if (!isUuid(c['nodeUuid'])) throw bad('"nodeUuid" is not a canonical lower-case v4 UUID');
  if (typeof c['name'] !== 'string' || !isCleanLabel(c['name'])) {
    throw bad('"name" must be 1–64 characters without control characters');
  }
  if (!isUuid(c['activeKey'])) throw bad('"activeKey" is not a canonical lower-case v4 UUID');
  if (typeof c['createdAt'] !== 'string' || Number.isNaN(Date.parse(c['createdAt']))) {
    throw bad('"createdAt" is not an ISO 8601 time');
  }
  if (c['listen'] !== undefined && (typeof c['listen'] !== 'string' || !/^\S+:\d{1,5}$/.test(c['listen']))) {
    throw bad('"listen" is not "host:port"');
  }
  const stores = c['stores'];
  if (
    stores !== undefined &&
    (!Array.isArray(stores) || !stores.every((s) => typeof s === 'string' && isAbsolute(s)))
  ) {
    throw bad('"stores" is not a list of absolute paths');
  }
  if (c['web'] !== undefined && (typeof c['web'] !== 'string' || !/^(off|\S+:\d{1,5})$/.test(c['web']))) {
    throw bad('"web" is not "host:port" or "off"');
  }
  for (const field of ['webTls', 'discovery'] as const) {
    if (c[field] !== undefined && typeof c[field] !== 'boolean') throw bad(`"${field}" is not true or false`);
  }
  if (c['mdnsInterface'] !== undefined && isIP(String(c['mdnsInterface'])) === 0) {
    throw bad('"mdnsInterface" is not an IP address');
  }
  const grace = c['trashGraceSeconds'];
  if (
    grace !== undefined &&
    !(Number.isSafeInteger(grace) && (grace as number) >= 0 && (grace as number) <= MAX_TRASH_GRACE_SECONDS)
  ) {
    throw bad(`"trashGraceSeconds" is not a whole number of seconds from 0 to ${MAX_TRASH_GRACE_SECONDS}`);
  }
  for (const [field, max] of [
    ['scrubPassSeconds', MAX_TRASH_GRACE_SECONDS],
    ['scrubMaxBytesPerSecond', 2 ** 40],
    ['repairGoneSeconds', MAX_TRASH_GRACE_SECONDS],
    ['repairIntervalSeconds', MAX_TRASH_GRACE_SECONDS],
    ['orphanAgeSeconds', MAX_TRASH_GRACE_SECONDS],
  ] as const) {
    const v = c[field];
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max)) {
      throw bad(`"${field}" is not a whole number from 0 to ${max}`);
    }
  }
  const peers = c['peerAddresses'];
  if (peers !== undefined) {
    if (typeof peers !== 'object' || peers === null || Array.isArray(peers)) {
      throw bad('"peerAddresses" is not an object of node UUIDs and "host:port" addresses');
    }
    const entries = Object.entries(peers);
    if (entries.length > MAX_PEER_ADDRESSES)
      throw bad(`"peerAddresses" has more than ${MAX_PEER_ADDRESSES} entries`);
    for (const [uuid, address] of entries) {
      if (!isUuid(uuid) || typeof address !== 'string' || !/^\S{1,300}:\d{1,5}$/.test(address)) {
        throw bad(`"peerAddresses" entry ${JSON.stringify(uuid)} is not a node UUID with a "host:port"`);
      }
    }
  }
  const sync = c['catalogSyncSeconds'];
  if (
    sync !== undefined &&
    !(Number.isSafeInteger(sync) && (sync as number) >= 1 && (sync as number) <= 86_400)
  ) {
    throw bad('"catalogSyncSeconds" is not a whole number of seconds from 1 to 86400');
  }
  if (c['metrics'] !== undefined && typeof c['metrics'] !== 'boolean') {
    throw bad('"metrics" is not true or false');
  }
  const tokenHash = c['metricsTokenSha256'];
  if (tokenHash !== undefined && (typeof tokenHash !== 'string' || !/^[0-9a-f]{64}$/.test(tokenHash))) {
    throw bad('"metricsTokenSha256" is not a SHA-256 in 64 lower-case hex digits');
  }
  const jobs = c['jobConcurrency'];
  if (
    jobs !== undefined &&
    !(Number.isSafeInteger(jobs) && (jobs as number) >= 1 && (jobs as number) <= 64)
  ) {
    throw bad('"jobConcurrency" is not a whole number from 1 to 64');
  }
  return c as NodeConfig;
}

export async function readNodeConfig(path: string): Promise<NodeConfig> {
  let text: string;
  try {
    text = (await readSecureFile(path, { maxBytes: MAX_NODE_JSON, tooLarge: 'ERR_HOME_INVALID' })).toString(
      'utf8',
    );
  } catch (err) {
    if (err instanceof ArozError && err.code === 'ERR_FILE_NOT_FOUND') {
      throw new ArozError('ERR_HOME_INVALID', `"${path}" is missing`, { cause: err });
    }
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ArozError('ERR_HOME_INVALID', `"${path}" is damaged: it is not valid JSON`, { cause: err });
  }
  return validateNodeConfig(value, path);
}

/** Writes node.json atomically (0600); `replace` false refuses an existing file. */
export async function writeNodeConfig(path: string, config: NodeConfig, replace: boolean): Promise<void> {
  validateNodeConfig(config, path);
  await writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`, {
    mode: FILE_MODE,
    overwrite: replace,
  });
}
