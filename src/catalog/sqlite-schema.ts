/**
 * The catalog's SQLite schema and connection settings (docs/catalog.md, "Local state").
 *
 * Durability: WAL journal, synchronous=FULL, one transaction per batch. A commit returns only after
 * its WAL frames are fsynced, so an accepted batch survives kill -9 and power loss; a batch cut short
 * by a crash was never committed, and SQLite's recovery drops its frames on the next open — no torn
 * entry, no half batch. (NORMAL would survive kill -9 too, but could lose the last commits on power
 * loss, and a node's own tombstone must not vanish after `rm` said "deleted".)
 *
 * `node:sqlite` is imported lazily, only by `openSqlite`, so commands that never open the catalog
 * never load it (older Node 24 releases print an ExperimentalWarning when it loads; 24.21 does not).
 */
import type { DatabaseSync } from 'node:sqlite';

export const SCHEMA_VERSION = 1;
// file_schemes (erasure coding K+M, encryption) came later as a table of its own: a catalog made
// before it gets it on open, and a file without a row there is plain copies.

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS signers (signer TEXT PRIMARY KEY, max_seq INTEGER NOT NULL) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS statements (
  signer TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, file TEXT NOT NULL, bytes BLOB NOT NULL,
  PRIMARY KEY (signer, seq)
) STRICT;
CREATE TABLE IF NOT EXISTS files (
  file TEXT PRIMARY KEY, uploader TEXT NOT NULL, seq INTEGER NOT NULL, revision INTEGER NOT NULL,
  name TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, created_at TEXT NOT NULL,
  copies INTEGER NOT NULL, chunks INTEGER NOT NULL, index_hash TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS files_by_name ON files (name, created_at, file);
CREATE TABLE IF NOT EXISTS tombstones (
  file TEXT PRIMARY KEY, signer TEXT NOT NULL, seq INTEGER NOT NULL, revision INTEGER NOT NULL,
  deleted_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS holdings (
  signer TEXT NOT NULL, file TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (file, signer)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunk_holders (
  chunk TEXT NOT NULL, node TEXT NOT NULL, file TEXT NOT NULL, source TEXT NOT NULL,
  PRIMARY KEY (chunk, node, file, source)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunk_holders_by_file ON chunk_holders (file, source, node);
CREATE TABLE IF NOT EXISTS file_schemes (
  file TEXT PRIMARY KEY, data INTEGER NOT NULL, parity INTEGER NOT NULL, sealed INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`;

/** Opens (creating if needed) the catalog database at `path` with the settings above. */
export async function openSqlite(path: string): Promise<DatabaseSync> {
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(path);
  try {
    // 16 KiB pages hold a typical statement (2–3 KB with two RSA-3072 signatures) inline; with the
    // default 4 KiB pages each spills to overflow pages and takes twice the room. Only a new file
    // takes the setting (before WAL is on).
    db.exec('PRAGMA page_size = 16384');
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = OFF');
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec('BEGIN IMMEDIATE');
    db.exec(SCHEMA);
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as
      | { value: string }
      | undefined;
    if (row === undefined) {
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', String(SCHEMA_VERSION));
    } else if (row.value !== String(SCHEMA_VERSION)) {
      throw new Error(`schema ${row.value}`);
    }
    db.exec('COMMIT');
    return db;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    db.close();
    throw err;
  }
}
