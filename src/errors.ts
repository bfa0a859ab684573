/**
 * ArozError: the one error class of arozdfs. Every failure a user or a peer can cause carries a
 * stable `ERR_*` code (listed in docs/errors.md, kept in sync by a test), a one-line message that
 * names what is wrong, and an optional cause. Tests assert codes, never messages.
 *
 * `status` is the HTTP status the code maps to when it crosses the wire; `exit` is the CLI exit code.
 */

/** Every code, with the HTTP status it maps to on the wire. Exit codes: see `exitCodeOf`. */
export const ERROR_CODES = {
  // usage and local input
  ERR_USAGE: 400,
  ERR_INTERNAL: 500,
  ERR_NOT_IMPLEMENTED: 501,
  ERR_INTERRUPTED: 499,
  ERR_INVALID_SIZE: 400,
  ERR_INVALID_UUID: 400,
  ERR_FILE_NOT_FOUND: 404,
  ERR_NOT_A_FILE: 400,
  ERR_NOT_A_DIRECTORY: 400,
  ERR_PERMISSION_DENIED: 403,
  ERR_OUTPUT_EXISTS: 409,
  ERR_NO_SPACE: 507,
  ERR_IO: 500,
  ERR_FILE_CHANGED: 409,
  // index files
  ERR_INDEX_INVALID: 400,
  ERR_INDEX_TOO_LARGE: 413,
  ERR_INDEX_VERSION: 400,
  ERR_INDEX_SCHEME: 400,
  ERR_INDEX_UNTRUSTED: 403,
  // chunks and merged files
  ERR_CHUNK_MISSING: 404,
  ERR_CHUNK_SIZE: 422,
  ERR_CHUNK_HASH: 422,
  ERR_CHUNK_CONFLICT: 409,
  ERR_FILE_HASH: 422,
  // placement, upload and download
  ERR_PLACEMENT: 400,
  ERR_NOT_ENOUGH_NODES: 503,
  ERR_JOURNAL_INVALID: 500,
  ERR_DATA_LOST: 404,
  ERR_DATA_UNREACHABLE: 503,
  ERR_INDEX_MISMATCH: 422,
  ERR_NOT_A_READER: 403,
  ERR_DECRYPT_FAILED: 422,
  // chunk stores
  ERR_STORE_OFFLINE: 503,
  ERR_STORE_EXISTS: 409,
  ERR_NOT_UPLOADER: 403,
  ERR_INVALID_RANGE: 416,
  // home, keys and trust
  ERR_HOME_EXISTS: 409,
  ERR_HOME_NOT_FOUND: 404,
  ERR_HOME_INVALID: 500,
  ERR_INSECURE_PATH: 500,
  ERR_KEY_NOT_FOUND: 404,
  ERR_KEY_INVALID: 400,
  ERR_KEY_UNSUPPORTED: 400,
  ERR_PAIRING_INVALID: 400,
  ERR_PEER_SELF: 400,
  ERR_PEER_CONFLICT: 409,
  ERR_PEER_NOT_FOUND: 404,
  ERR_NOT_CONFIRMED: 400,
  // node-to-node transport
  ERR_PEER_UNTRUSTED: 403,
  ERR_PEER_UNREACHABLE: 502,
  ERR_TIMEOUT: 504,
  ERR_BAD_REQUEST: 400,
  ERR_ROUTE_NOT_FOUND: 404,
  ERR_BUSY: 503,
  // cluster services: address records and discovery
  ERR_RECORD_INVALID: 400,
  ERR_RECORD_UNTRUSTED: 403,
  ERR_RECORD_EXPIRED: 400,
  ERR_MDNS_UNAVAILABLE: 503,
  // daemon and control socket
  ERR_DAEMON_RUNNING: 409,
  ERR_DAEMON_UNREACHABLE: 503,
  ERR_SOCKET_PATH: 500,
  // background jobs
  ERR_JOB_NOT_FOUND: 404,
  // catalog of signed statements (src/catalog/, docs/catalog.md)
  ERR_CATALOG_INVALID: 400,
  ERR_CATALOG_TOO_LARGE: 413,
  ERR_CATALOG_SIGNATURE: 403,
  ERR_CATALOG_UNTRUSTED: 403,
  ERR_CATALOG_SIGNER: 403,
  ERR_CATALOG_STALE: 409,
  ERR_CATALOG_DELETED: 410,
  // web UI (src/web/)
  ERR_WEB_LOGIN_REQUIRED: 401,
  ERR_WEB_PASSWORD: 403,
  ERR_WEB_SETUP_TOKEN: 403,
  ERR_WEB_PASSWORD_SET: 409,
  ERR_WEB_RATE_LIMITED: 429,
  ERR_WEB_FORBIDDEN: 403,
  ERR_METRICS_TOKEN: 401,
  ERR_TOO_LARGE: 413,
  ERR_NOT_FOUND: 404,
  ERR_NAME_AMBIGUOUS: 409,
  ERR_IS_A_FOLDER: 409,
  ERR_BATCH_INCOMPLETE: 500,
  ERR_ADDRESS_IN_USE: 409,
  ERR_ADDRESS_UNAVAILABLE: 400,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ArozError extends Error {
  override readonly name = 'ArozError';
  readonly code: ErrorCode;
  /** A finer, stable reason where callers need one (e.g. `refused-by-peer` for ERR_PEER_UNTRUSTED). */
  readonly reason: string | undefined;
  /** Seconds to wait before trying again (ERR_WEB_RATE_LIMITED; sent as Retry-After). */
  readonly retryAfter: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; reason?: string; retryAfter?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reason = options?.reason;
    this.retryAfter = options?.retryAfter;
  }

  /** HTTP status for this error when it crosses the wire. */
  get status(): number {
    return ERROR_CODES[this.code];
  }
}

export function isArozError(err: unknown, code?: ErrorCode): err is ArozError {
  return err instanceof ArozError && (code === undefined || err.code === code);
}

/**
 * Codes that say the command line itself is wrong (a malformed option or argument): exit code 2.
 * ERR_INVALID_SIZE and ERR_INVALID_UUID keep their own codes so programs can tell them apart.
 */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  'ERR_USAGE',
  'ERR_INVALID_SIZE',
  'ERR_INVALID_UUID',
  'ERR_NAME_AMBIGUOUS',
  'ERR_IS_A_FOLDER',
]);

/** CLI exit code: 2 for usage errors (USAGE_CODES), 130 when interrupted, 1 for every other failure. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof ArozError) {
    if (USAGE_CODES.has(err.code)) return 2;
    if (err.code === 'ERR_INTERRUPTED') return 130;
  }
  return 1;
}

/** Programming errors are never swallowed by a catch that expects operational failures. */
export function isProgrammingError(err: unknown): boolean {
  return (
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof SyntaxError ||
    err instanceof ReferenceError ||
    (err instanceof Error && err.name === 'AssertionError')
  );
}

/** Translates a failed `listen()` on `what` (e.g. `The cluster port 0.0.0.0:7420`) into an ArozError. */
export function fromListenError(err: unknown, what: string, hint: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return new ArozError('ERR_ADDRESS_IN_USE', `${what} is already in use by another program (${hint})`, {
      cause: err,
    });
  }
  if (code === 'EADDRNOTAVAIL') {
    return new ArozError(
      'ERR_ADDRESS_UNAVAILABLE',
      `${what}: no network interface of this machine has that address`,
      {
        cause: err,
      },
    );
  }
  return fromSystemError(err, what);
}

/**
 * Translates a Node system error from a file operation into an ArozError naming `what` (a quoted
 * path or thing). Programming errors and ArozErrors pass through unchanged.
 */
export function fromSystemError(err: unknown, what: string): unknown {
  if (err instanceof ArozError || isProgrammingError(err)) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new ArozError('ERR_FILE_NOT_FOUND', `${what} does not exist`, { cause: err });
    case 'EISDIR':
      return new ArozError('ERR_NOT_A_FILE', `${what} is a directory, not a file`, { cause: err });
    case 'ENOTDIR':
      return new ArozError('ERR_NOT_A_DIRECTORY', `${what}: a part of the path is not a directory`, {
        cause: err,
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ArozError('ERR_PERMISSION_DENIED', `${what}: permission denied (${code})`, { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return new ArozError('ERR_NO_SPACE', `${what}: no space left on the device (${code})`, { cause: err });
    case 'EEXIST':
      return new ArozError('ERR_OUTPUT_EXISTS', `${what} already exists`, { cause: err });
    default:
      return new ArozError(
        'ERR_IO',
        `${what}: ${code ?? 'I/O error'}: ${(err as Error | undefined)?.message ?? String(err)}`,
        { cause: err },
      );
  }
}
