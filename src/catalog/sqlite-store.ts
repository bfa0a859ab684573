/**
 * CatalogStore on node:sqlite (schema and durability: sqlite-schema.ts). Every accepted statement is
 * one row of `statements`; `files`, `tombstones`, `holdings` and `chunk_holders` are indexes over the
 * newest statement per (signer, file), kept in the same transaction as the statement itself.
 */
import { createHash } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { ArozError, isArozError } from '../errors.ts';
import { type IndexFile, isSealed, piecesPerChunk, storedObjects } from '../index-file/index.ts';
import { judge } from './rules.ts';
import { openSqlite, SCHEMA_VERSION } from './sqlite-schema.ts';
import type {
  ApplyResult,
  BatchLimits,
  CatalogFile,
  CatalogStore,
  CatalogTombstone,
  Refusal,
  StatementBatch,
} from './store.ts';
import { CATALOG_LIMITS, type Statement, type VerifiedStatement } from './types.ts';

const FILE_COLUMNS =
  'file AS id, name, size, sha256, uploader, created_at AS uploadedAt, revision, copies, chunks, ' +
  "(SELECT data || '+' || parity FROM file_schemes s WHERE s.file = files.file AND data > 0) AS ec, " +
  '(SELECT sealed FROM file_schemes s WHERE s.file = files.file) AS sealed';

type Row = Record<string, unknown>;

export class SqliteCatalogStore implements CatalogStore {
  readonly path: string;
  #db: DatabaseSync;
  #q: Record<string, StatementSync>;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    this.#q = {
      maxSeq: p('SELECT max_seq FROM signers WHERE signer = ?'),
      setMaxSeq: p(
        'INSERT INTO signers (signer, max_seq) VALUES (?, ?) ON CONFLICT (signer) DO UPDATE SET max_seq = max(max_seq, excluded.max_seq)',
      ),
      summary: p('SELECT signer, max_seq FROM signers'),
      sameSeq: p('SELECT bytes FROM statements WHERE signer = ? AND seq = ?'),
      insert: p('INSERT INTO statements (signer, seq, kind, file, bytes) VALUES (?, ?, ?, ?, ?)'),
      remove: p('DELETE FROM statements WHERE signer = ? AND seq = ?'),
      after: p('SELECT seq, bytes FROM statements WHERE signer = ? AND seq > ? ORDER BY seq LIMIT ?'),
      file: p('SELECT uploader, revision, index_hash, seq FROM files WHERE file = ?'),
      putFile: p(
        'INSERT OR REPLACE INTO files (file, uploader, seq, revision, name, size, sha256, created_at, copies, chunks, index_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      dropFile: p('DELETE FROM files WHERE file = ?'),
      putScheme: p('INSERT OR REPLACE INTO file_schemes (file, data, parity, sealed) VALUES (?, ?, ?, ?)'),
      dropScheme: p('DELETE FROM file_schemes WHERE file = ?'),
      tomb: p('SELECT signer, seq, revision, deleted_at FROM tombstones WHERE file = ?'),
      putTomb: p(
        'INSERT OR REPLACE INTO tombstones (file, signer, seq, revision, deleted_at) VALUES (?, ?, ?, ?, ?)',
      ),
      dropTomb: p('DELETE FROM tombstones WHERE file = ?'),
      holding: p('SELECT seq FROM holdings WHERE file = ? AND signer = ?'),
      putHolding: p('INSERT OR REPLACE INTO holdings (signer, file, seq) VALUES (?, ?, ?)'),
      fileHoldings: p('SELECT signer, seq FROM holdings WHERE file = ?'),
      dropHoldings: p('DELETE FROM holdings WHERE file = ?'),
      addHolder: p('INSERT OR IGNORE INTO chunk_holders (chunk, node, file, source) VALUES (?, ?, ?, ?)'),
      dropHolders: p('DELETE FROM chunk_holders WHERE file = ? AND source = ?'),
      dropNodeHolders: p("DELETE FROM chunk_holders WHERE file = ? AND source = 'holdings' AND node = ?"),
      dropAllHolders: p('DELETE FROM chunk_holders WHERE file = ?'),
      holders: p('SELECT DISTINCT node FROM chunk_holders WHERE chunk = ? ORDER BY node'),
      files: p(`SELECT ${FILE_COLUMNS} FROM files ORDER BY name, file`),
      byName: p(`SELECT ${FILE_COLUMNS} FROM files WHERE name = ? ORDER BY created_at, file`),
      byId: p(`SELECT ${FILE_COLUMNS} FROM files WHERE file = ?`),
      indexBytes: p(
        'SELECT s.bytes FROM files f JOIN statements s ON s.signer = f.uploader AND s.seq = f.seq WHERE f.file = ?',
      ),
    };
  }

  /** Opens (or creates) the catalog at `path` (e.g. `<home>/catalog.db`). Throws ERR_HOME_INVALID. */
  static async open(path: string): Promise<SqliteCatalogStore> {
    let db: DatabaseSync;
    try {
      db = await openSqlite(path);
    } catch (err) {
      if (isArozError(err)) throw err;
      throw new ArozError(
        'ERR_HOME_INVALID',
        `The catalog "${path}" cannot be opened (schema ${SCHEMA_VERSION} expected): ${(err as Error).message}`,
        { cause: err },
      );
    }
    return new SqliteCatalogStore(path, db);
  }

  maxSeq(signer: string): number {
    return Number((this.#q.maxSeq!.get(signer) as Row | undefined)?.max_seq ?? 0);
  }

  summary(): Map<string, number> {
    const out = new Map<string, number>();
    for (const row of this.#q.summary!.iterate() as Iterable<Row>)
      out.set(String(row.signer), Number(row.max_seq));
    return out;
  }

  apply(statements: readonly VerifiedStatement[]): ApplyResult {
    let accepted = 0;
    let duplicates = 0;
    const refused: Refusal[] = [];
    const deleted: CatalogTombstone[] = [];
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      statements.forEach(({ statement, bytes }, position) => {
        const indexHash = statement.kind === 'index' ? hashIndex(statement.body.index) : undefined;
        const verdict = judge(statement, bytes, indexHash, this.#held(statement));
        if (verdict.verdict === 'duplicate') duplicates++;
        else if (verdict.verdict === 'refuse') {
          const { code, message } = verdict.error;
          refused.push({ position, signer: statement.signer, seq: statement.seq, code, message });
          if (verdict.settled) this.#q.setMaxSeq!.run(statement.signer, statement.seq);
        } else {
          if (statement.kind === 'tombstone' && this.tombstoneOf(statement.file) === undefined) {
            const { revision, deletedAt } = statement.body;
            deleted.push({ id: statement.file, uploader: statement.signer, revision, deletedAt });
          }
          this.#store(statement, bytes, indexHash, verdict.voidTombstone);
          accepted++;
        }
      });
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
    return { accepted, duplicates, refused, deleted };
  }

  #held(s: Statement) {
    const same = this.#q.sameSeq!.get(s.signer, s.seq) as Row | undefined;
    const file = this.#q.file!.get(s.file) as Row | undefined;
    const tomb = this.#q.tomb!.get(s.file) as Row | undefined;
    return {
      maxSeq: this.maxSeq(s.signer),
      sameSeq: same === undefined ? undefined : Buffer.from(same.bytes as Uint8Array),
      file:
        file === undefined
          ? undefined
          : {
              uploader: String(file.uploader),
              revision: Number(file.revision),
              indexHash: String(file.index_hash),
            },
      tombstone:
        tomb === undefined ? undefined : { signer: String(tomb.signer), revision: Number(tomb.revision) },
    };
  }

  #store(s: Statement, bytes: Buffer, indexHash: string | undefined, voidTombstone: boolean): void {
    const q = this.#q;
    q.insert!.run(s.signer, s.seq, s.kind, s.file, bytes);
    q.setMaxSeq!.run(s.signer, s.seq);
    if (voidTombstone) this.#dropTombstone(s.file);
    if (s.kind === 'index') {
      const old = q.file!.get(s.file) as Row | undefined;
      if (old !== undefined) q.remove!.run(s.signer, Number(old.seq));
      const index = s.body.index;
      q.putFile!.run(
        s.file,
        s.signer,
        s.seq,
        index.revision ?? 0,
        index.file.name,
        index.file.size,
        index.file.sha256,
        index.createdAt,
        piecesPerChunk(index.redundancy),
        index.chunks.length,
        indexHash ?? '',
      );
      const { redundancy } = index;
      const rs = redundancy.scheme === 'rs' ? redundancy : undefined;
      if (rs === undefined && !isSealed(index)) q.dropScheme!.run(s.file);
      else q.putScheme!.run(s.file, rs?.data ?? 0, rs?.parity ?? 0, isSealed(index) ? 1 : 0);
      q.dropHolders!.run(s.file, 'index');
      for (const chunk of index.chunks) {
        for (const object of storedObjects(chunk)) {
          for (const holder of object.holders) q.addHolder!.run(object.uuid, holder.node, s.file, 'index');
        }
      }
    } else if (s.kind === 'holdings') {
      const old = q.holding!.get(s.file, s.signer) as Row | undefined;
      if (old !== undefined) q.remove!.run(s.signer, Number(old.seq));
      q.putHolding!.run(s.signer, s.file, s.seq);
      q.dropNodeHolders!.run(s.file, s.signer);
      for (const chunk of s.body.chunks) q.addHolder!.run(chunk, s.signer, s.file, 'holdings');
    } else {
      // A tombstone supersedes the file's index and every holdings statement about it.
      this.#dropTombstone(s.file);
      const file = q.file!.get(s.file) as Row | undefined;
      if (file !== undefined) q.remove!.run(String(file.uploader), Number(file.seq));
      for (const row of q.fileHoldings!.all(s.file) as Row[])
        q.remove!.run(String(row.signer), Number(row.seq));
      q.dropFile!.run(s.file);
      q.dropScheme!.run(s.file);
      q.dropHoldings!.run(s.file);
      q.dropAllHolders!.run(s.file);
      q.putTomb!.run(s.file, s.signer, s.seq, s.body.revision, s.body.deletedAt);
    }
  }

  #dropTombstone(file: string): void {
    const tomb = this.#q.tomb!.get(file) as Row | undefined;
    if (tomb === undefined) return;
    this.#q.remove!.run(String(tomb.signer), Number(tomb.seq));
    this.#q.dropTomb!.run(file);
  }

  statementsAfter(signer: string, after: number, limits: BatchLimits = {}): StatementBatch {
    const maxCount = Math.max(1, Math.min(limits.maxCount ?? Infinity, CATALOG_LIMITS.maxBatchCount));
    const maxBytes = Math.max(1, Math.min(limits.maxBytes ?? Infinity, CATALOG_LIMITS.maxBatchBytes));
    const statements: Buffer[] = [];
    let bytes = 0;
    let last = after;
    let more = false;
    for (const row of this.#q.after!.iterate(signer, after, maxCount + 1) as Iterable<Row>) {
      const data = Buffer.from(row.bytes as Uint8Array);
      if (statements.length === maxCount || (statements.length > 0 && bytes + data.length > maxBytes)) {
        more = true;
        break;
      }
      statements.push(data);
      bytes += data.length;
      last = Number(row.seq);
    }
    return { statements, last, more };
  }

  *files(): IterableIterator<CatalogFile> {
    for (const row of this.#q.files!.iterate() as Iterable<Row>) yield toFile(row);
  }

  findByName(name: string): CatalogFile[] {
    return (this.#q.byName!.all(name) as Row[]).map(toFile);
  }

  getFile(id: string): CatalogFile | undefined {
    const row = this.#q.byId!.get(id) as Row | undefined;
    return row === undefined ? undefined : toFile(row);
  }

  indexOf(id: string): IndexFile | undefined {
    const row = this.#q.indexBytes!.get(id) as Row | undefined;
    if (row === undefined) return undefined;
    // Stored bytes were verified before they were stored: plain JSON.parse reads them back.
    return (
      JSON.parse(Buffer.from(row.bytes as Uint8Array).toString('utf8')) as Statement & { kind: 'index' }
    ).body.index;
  }

  tombstoneOf(id: string): CatalogTombstone | undefined {
    const row = this.#q.tomb!.get(id) as Row | undefined;
    if (row === undefined) return undefined;
    return {
      id,
      uploader: String(row.signer),
      revision: Number(row.revision),
      deletedAt: String(row.deleted_at),
    };
  }

  holdersOf(chunk: string): string[] {
    return (this.#q.holders!.all(chunk) as Row[]).map((row) => String(row.node));
  }

  counts(): { files: number; tombstones: number; statements: number; signers: number } {
    const count = (table: string) =>
      Number((this.#db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as Row).n);
    return {
      files: count('files'),
      tombstones: count('tombstones'),
      statements: count('statements'),
      signers: count('signers'),
    };
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

function toFile(row: Row): CatalogFile {
  return {
    id: String(row.id),
    name: String(row.name),
    size: Number(row.size),
    sha256: String(row.sha256),
    uploader: String(row.uploader),
    uploadedAt: String(row.uploadedAt),
    revision: Number(row.revision),
    copies: Number(row.copies),
    chunks: Number(row.chunks),
    ...(typeof row.ec === 'string' ? { ec: row.ec } : {}),
    ...(row.sealed === 1 || row.sealed === 1n ? { encrypted: true } : {}),
  };
}

/** Tells revisions apart: a verified signature value stands for one signed index (cheaper than its JSON). */
function hashIndex(index: IndexFile): string {
  return createHash('sha256')
    .update(index.signature?.value ?? '')
    .digest('hex');
}
