/**
 * The redundancy seam: how a chunk is kept safe across nodes. An upload asks it how many pieces each
 * chunk is stored as and where each goes (plan, fan-out, and the re-send of a piece whose target
 * failed), the index records what it says, a download asks how many good pieces rebuild a chunk, and
 * check asks what counts as a healthy chunk. `replicas` (whole copies) is its one implementation
 * today (docs/index-format.md `redundancy`); erasure coding would be another, behind the same
 * interface, with a scheme of its own.
 */
import { ArozError } from '../errors.ts';
import { type IndexRedundancy, REPLICAS_SCHEME } from '../index-file/index.ts';
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

/** The redundancy an index records; ERR_INDEX_SCHEME for a scheme this version does not know. */
export function redundancyOf(record: IndexRedundancy): Redundancy {
  if (record.scheme !== REPLICAS_SCHEME) {
    throw new ArozError(
      'ERR_INDEX_SCHEME',
      `The redundancy scheme "${String(record.scheme)}" is not known here`,
    );
  }
  return replicas(record.copies);
}
