/**
 * ADDC/audit.log: one JSON line per trust or key change — when, what, which key, from where
 * (docs/config.md). Append-only; never rewritten by arozdfs.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { ArozError, fromSystemError } from '../errors.ts';
import { FILE_MODE } from './paths.ts';

export type AuditAction =
  | 'trust'
  | 'revoke'
  | 'key-generate'
  | 'key-activate'
  | 'web-password-set'
  | 'web-login'
  | 'web-login-failed'
  | 'scrub-quarantine'
  | 'file-delete'
  | 'peer-address';
export type AuditSource = 'cli' | 'web' | 'control-socket' | 'scrub';

export interface AuditEntry {
  action: AuditAction;
  /** The peer (trust, revoke). */
  nodeUuid?: string;
  /** The local key (key-generate, key-activate). */
  keyUuid?: string;
  /** Fingerprint of the key concerned; null when it could not be read (revoking a damaged key). */
  fingerprint: string | null;
  /** The file (file-delete). */
  fileId?: string;
  /** The peer's label (trust, revoke). */
  label?: string;
  from: AuditSource;
  /** A peer's static address (peer-address; null when removed). */
  address?: string | null;
  /** The web client's address (web actions). */
  client?: string;
  /** A copy the scrub quarantined: the chunk, its store, its recorded and its actual SHA-256. */
  chunkUuid?: string;
  storeId?: string;
  sha256?: string;
  actual?: string | null;
}

/** Appends one line `{time, …entry}` and syncs it to disk. The file is never followed if a symlink. */
export async function appendAudit(path: string, entry: AuditEntry): Promise<void> {
  const line = `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      FILE_MODE,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new ArozError('ERR_INSECURE_PATH', `Refusing "${path}": it is a symbolic link`, { cause: err });
    }
    throw fromSystemError(err, `Cannot write the audit log "${path}"`);
  }
  try {
    await handle.write(line);
    await handle.datasync();
  } catch (err) {
    throw fromSystemError(err, `Cannot write the audit log "${path}"`);
  } finally {
    await handle.close();
  }
}
