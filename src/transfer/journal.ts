/**
 * Journals let an interrupted upload or download resume, moving only what is missing. The engines
 * write the plan before the first byte moves and one record per completed copy (upload) or chunk
 * (download); on resume they check every record against reality (a head() of each journaled copy, a
 * hash of each journaled chunk in the partial file) before trusting it.
 *
 * The interfaces are what the engines need; `journal-file.ts` keeps them in a JSON-lines file.
 */
import { ArozError } from '../errors.ts';
import { isSha256Hex, isUtcTimestamp } from '../index-file/index.ts';
import { isUuid } from '../uuid.ts';

export interface PlannedChunk {
  i: number;
  uuid: string;
  /** The planned node of every pass (placement), before any fallback. */
  targets: string[];
}

export interface UploadPlan {
  indexId: string;
  createdAt: string;
  /** Absolute path, size and modification time (ns, decimal) of the file when the upload began. */
  file: { path: string; size: number; mtimeNs: string };
  chunkSize: number;
  nodes: string[];
  /** Spread placement: the free bytes of each node of `nodes` (same order) that the lists came from. */
  free?: number[];
  shift: number;
  copies: number;
  /** Erasure coding: `copies` is then K + M, one shard per pass. */
  ec?: { data: number; parity: number };
  chunks: PlannedChunk[];
}

/** Pass `pass` of chunk `i` is stored on `node` (its finish() answered created or exists). */
export interface CopyRecord {
  i: number;
  pass: number;
  node: string;
  sha256: string;
}

export interface UploadJournalState {
  plan: UploadPlan;
  copies: CopyRecord[];
}

export interface UploadJournal {
  /** What an earlier run recorded, or undefined when there is nothing to resume. */
  load(): Promise<UploadJournalState | undefined>;
  /** Replaces whatever was recorded with a new plan; durable when it resolves. */
  writePlan(plan: UploadPlan): Promise<void>;
  /** Adds one stored copy; durable when it resolves. */
  recordCopy(copy: CopyRecord): Promise<void>;
}

export interface DownloadPlan {
  indexId: string;
  /** SHA-256 of the index's signed form (signingPayload): the journal belongs to exactly this index. */
  indexSha256: string;
  /** Absolute path of the output, and of the partial file beside it that the chunks are written into. */
  out: string;
  tempPath: string;
}

export interface DownloadJournalState {
  plan: DownloadPlan;
  /** Positions of chunks written and verified (they are hashed again before they are trusted). */
  done: number[];
}

export interface DownloadJournal {
  load(): Promise<DownloadJournalState | undefined>;
  writePlan(plan: DownloadPlan): Promise<void>;
  recordChunk(i: number, node: string): Promise<void>;
}

/** ERR_JOURNAL_INVALID naming the journal and what is wrong. */
export function journalError(where: string, problem: string): ArozError {
  return new ArozError('ERR_JOURNAL_INVALID', `The journal ${where} ${problem}; the transfer cannot resume`);
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isUuidList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isUuid);

/** Shape checks of the records, so a damaged journal is refused instead of misread. */
export const validRecord = {
  uploadPlan(v: Record<string, unknown>): boolean {
    const file = v.file as Record<string, unknown> | undefined;
    return (
      isUuid(v.indexId) &&
      typeof v.createdAt === 'string' &&
      isUtcTimestamp(v.createdAt) &&
      typeof file === 'object' &&
      file !== null &&
      typeof file.path === 'string' &&
      isCount(file.size) &&
      typeof file.mtimeNs === 'string' &&
      /^[0-9]{1,30}$/.test(file.mtimeNs) &&
      isCount(v.chunkSize) &&
      isUuidList(v.nodes) &&
      (v.free === undefined ||
        (Array.isArray(v.free) && v.free.length === v.nodes.length && v.free.every(isCount))) &&
      isCount(v.shift) &&
      isCount(v.copies) &&
      isCount(v.chunks)
    );
  },
  planned(v: Record<string, unknown>, i: number): boolean {
    return v.i === i && isUuid(v.uuid) && isUuidList(v.targets);
  },
  copy(v: Record<string, unknown>): boolean {
    return isCount(v.i) && isCount(v.pass) && isUuid(v.node) && isSha256Hex(v.sha256);
  },
  downloadPlan(v: Record<string, unknown>): boolean {
    return (
      isUuid(v.indexId) &&
      isSha256Hex(v.indexSha256) &&
      typeof v.out === 'string' &&
      typeof v.tempPath === 'string'
    );
  },
  chunk(v: Record<string, unknown>): boolean {
    return isCount(v.i) && isUuid(v.node);
  },
};
