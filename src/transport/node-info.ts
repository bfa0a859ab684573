/**
 * `GET /v1/node` (docs/protocol.md): who a node is and how its stores are doing. The answer of a
 * peer is parsed here before anything reads it: a node that names another UUID than the one whose
 * pinned key it proved, or whose store figures are not byte counts, is refused as ERR_BAD_REQUEST.
 */
import { ArozError } from '../errors.ts';
import type { StoreStatus } from '../store/types.ts';

export interface NodeInfo {
  uuid: string;
  name: string;
  version: string;
  stores: StoreStatus[];
  /** What the node's trash holds (its online stores) and how it empties it; older nodes omit it. */
  trash?: NodeTrash;
  /** The node's scrub of its own chunks (docs/store.md); older nodes omit it. */
  scrub?: NodeScrub;
  /** What the last full repair pass found of copies no live file references (docs/repair.md "Orphans"); older nodes omit it. */
  orphans?: NodeOrphans;
}

export interface NodeOrphans {
  /** Copies the last pass moved to the trash. */
  collected: number;
  /** Unreferenced copies of uploaders a person removed, kept for a person to purge. */
  kept: number;
  /** When that pass ended (ISO 8601), or null before the first. */
  at: string | null;
}

export interface NodeScrub {
  /** `waiting` between passes (or before the first), `paused` while transfers run, `off` by config. */
  state: 'waiting' | 'running' | 'paused' | 'off';
  /** Bytes per second the current pass reads at most. */
  rate: number;
  /** Chunks checked in the current pass (since the node started). */
  checked: number;
  /** Corrupt copies found since the node was made. */
  corrupt: number;
  /** What the stores' quarantine holds now. */
  quarantined: { chunks: number; bytes: number };
  /** When the current (or last) pass started, and when the last full pass ended (ISO 8601, or null). */
  passStartedAt: string | null;
  lastPassAt: string | null;
}

export interface NodeTrash {
  chunks: number;
  bytes: number;
  /** A deleted chunk is purged this long after its delete. */
  graceSeconds: number;
  /** When the node last emptied its trash (ISO 8601), else null. */
  purgedAt: string | null;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const COUNTS = ['capacity', 'free', 'used', 'reserved', 'chunks'] as const;

/** Checks the `/v1/node` answer of node `peer`; the stores keep only the fields a status has. */
export function parseNodeInfo(value: unknown, peer: string): NodeInfo {
  const bad = (what: string) =>
    new ArozError('ERR_BAD_REQUEST', `Node "${peer}" answered /v1/node with ${what}`);
  if (!isObject(value)) throw bad('something that is not an object');
  const { uuid, name, version, stores } = value;
  if (uuid !== peer) throw bad(`the UUID ${JSON.stringify(String(uuid).slice(0, 40))}`);
  if (typeof name !== 'string' || typeof version !== 'string') throw bad('no name or version');
  if (!Array.isArray(stores) || stores.length > 1024) throw bad('no list of stores');
  const info: NodeInfo = {
    uuid,
    name,
    version,
    stores: stores.map((s, k) => parseStatus(s, () => bad(`a malformed store ${k}`))),
  };
  if (value.trash !== undefined) info.trash = parseTrash(value.trash, () => bad('a malformed trash'));
  if (value.scrub !== undefined) info.scrub = parseScrub(value.scrub, () => bad('a malformed scrub'));
  if (value.orphans !== undefined) {
    const o = value.orphans;
    if (!isObject(o) || !isCount(o.collected) || !isCount(o.kept) || !isTime(o.at))
      throw bad('malformed orphans');
    info.orphans = { collected: o.collected, kept: o.kept, at: o.at as string | null };
  }
  return info;
}

const isTime = (v: unknown) =>
  v === null || (typeof v === 'string' && v.length <= 40 && !Number.isNaN(Date.parse(v)));

function parseScrub(value: unknown, bad: () => ArozError): NodeScrub {
  if (!isObject(value)) throw bad();
  const { state, rate, checked, corrupt, quarantined, passStartedAt, lastPassAt } = value;
  if (state !== 'waiting' && state !== 'running' && state !== 'paused' && state !== 'off') throw bad();
  if (!isCount(rate) || !isCount(checked) || !isCount(corrupt)) throw bad();
  if (!isObject(quarantined) || !isCount(quarantined.chunks) || !isCount(quarantined.bytes)) throw bad();
  if (!isTime(passStartedAt) || !isTime(lastPassAt)) throw bad();
  return {
    state,
    rate,
    checked,
    corrupt,
    quarantined: { chunks: quarantined.chunks, bytes: quarantined.bytes },
    passStartedAt: passStartedAt as string | null,
    lastPassAt: lastPassAt as string | null,
  };
}

function parseTrash(value: unknown, bad: () => ArozError): NodeTrash {
  if (!isObject(value)) throw bad();
  const { chunks, bytes, graceSeconds, purgedAt } = value;
  if (!isCount(chunks) || !isCount(bytes) || !isCount(graceSeconds)) throw bad();
  if (
    purgedAt !== null &&
    (typeof purgedAt !== 'string' || purgedAt.length > 40 || Number.isNaN(Date.parse(purgedAt)))
  ) {
    throw bad();
  }
  return { chunks, bytes, graceSeconds, purgedAt };
}

function parseStatus(value: unknown, bad: () => ArozError): StoreStatus {
  if (!isObject(value) || typeof value.id !== 'string' || typeof value.online !== 'boolean') throw bad();
  const trash = value.trash;
  if (!isObject(trash) || !isCount(trash.chunks) || !isCount(trash.bytes)) throw bad();
  const counts = {} as Record<(typeof COUNTS)[number], number>;
  for (const key of COUNTS) {
    const n = value[key];
    if (!isCount(n)) throw bad();
    counts[key] = n;
  }
  const kind = value.kind;
  const status: StoreStatus = {
    id: value.id,
    kind: kind === 'disk' || kind === 'memory' || kind === 'set' || kind === 'remote' ? kind : 'remote',
    online: value.online,
    ...counts,
    trash: { chunks: trash.chunks, bytes: trash.bytes },
  };
  if (typeof value.path === 'string') status.path = value.path;
  if (isCount(value.limit)) status.limit = value.limit;
  if (typeof value.message === 'string') status.message = value.message;
  const fs = value.filesystem;
  if (isObject(fs) && typeof fs.id === 'string' && /^\d{1,24}$/.test(fs.id) && isCount(fs.free)) {
    status.filesystem = { id: fs.id, free: fs.free };
  }
  return status;
}
