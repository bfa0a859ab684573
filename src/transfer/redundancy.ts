/**
 * The redundancy seam: how a chunk is kept safe across nodes. An upload asks it how many pieces each
 * chunk is stored as and where each goes (plan, fan-out, and the re-send of a piece whose target
 * failed), the index records what it says, a download asks how many good pieces rebuild a chunk, and
 * check asks what counts as a healthy chunk. `replicas` (whole copies) is one implementation
 * (docs/index-format.md `redundancy`), and `erasure` (Reed–Solomon K+M shards, scheme "rs") the other.
 */
import { ArozError } from '../errors.ts';
import { type IndexRedundancy, REPLICAS_SCHEME, RS_SCHEME } from '../index-file/index.ts';
import { fallbacks, targets } from '../placement/index.ts';

export type ChunkHealthLevel = 'healthy' | 'degraded' | 'lost';

export interface Redundancy {
  /** What the index records under `redundancy`. */
  readonly record: IndexRedundancy;
  /** Pieces stored per chunk, each on a node of its own: what an upload fans out to. */
  readonly pieces: number;
  /** Good pieces that rebuild a chunk: a download fetches until it has them. */
  readonly needed: number;
  /** The planned node of every piece of chunk `i`, from its candidate list and the shift. */
  targets(list: readonly string[], i: number, shift: number): string[];
  /** Where piece `pass` of chunk `i` is re-sent when its target failed, skipping nodes `holding`. */
  fallbacks(
    list: readonly string[],
    i: number,
    pass: number,
    shift: number,
    holding: (node: string) => boolean,
  ): Iterable<string>;
  /** A chunk with `good` intact pieces: healthy (all), degraded (enough to rebuild), or lost. */
  health(good: number): ChunkHealthLevel;
}

/** Whole copies: every piece is the chunk itself; one good copy rebuilds it. */
export function replicas(copies: number): Redundancy {
  return {
    record: { scheme: REPLICAS_SCHEME, copies },
    pieces: copies,
    needed: 1,
    targets: (list, i, shift) => targets(list, i, shift, copies),
    fallbacks: (list, i, pass, shift, holding) => fallbacks(list, i, pass, shift, holding),
    health: (good) => (good >= copies ? 'healthy' : good >= 1 ? 'degraded' : 'lost'),
  };
}

/**
 * Reed–Solomon K+M: every chunk is K data + M parity shards, each a stored object of its own on a
 * node of its own (pass p = shard p, placed as copy p would be); any K intact shards rebuild it.
 */
export function erasure(data: number, parity: number): Redundancy {
  const pieces = data + parity;
  return {
    record: { scheme: RS_SCHEME, data, parity },
    pieces,
    needed: data,
    targets: (list, i, shift) => targets(list, i, shift, pieces),
    fallbacks: (list, i, pass, shift, holding) => fallbacks(list, i, pass, shift, holding),
    health: (good) => (good >= pieces ? 'healthy' : good >= data ? 'degraded' : 'lost'),
  };
}

/** The redundancy an index records; ERR_INDEX_SCHEME for a scheme this version does not know. */
export function redundancyOf(record: IndexRedundancy): Redundancy {
  if (record.scheme === RS_SCHEME) return erasure(record.data, record.parity);
  if (record.scheme !== REPLICAS_SCHEME) {
    throw new ArozError(
      'ERR_INDEX_SCHEME',
      `The redundancy scheme "${String((record as { scheme: unknown }).scheme)}" is not known here`,
    );
  }
  return replicas(record.copies);
}

/** `"K+M"` of `--ec`: K ≥ 1 data and M ≥ 1 parity shards, at most 16 in all. ERR_USAGE otherwise. */
export function parseEc(text: string): { data: number; parity: number } {
  const match = /^(\d{1,2})\+(\d{1,2})$/.exec(text);
  const data = Number(match?.[1]);
  const parity = Number(match?.[2]);
  if (match === null || data < 1 || parity < 1 || data + parity > 16) {
    throw new ArozError(
      'ERR_USAGE',
      `--ec "${text}" is not K+M with K ≥ 1 data and M ≥ 1 parity shards, at most 16 in all (e.g. 2+1, 4+2)`,
    );
  }
  return { data, parity };
}
