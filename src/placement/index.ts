/**
 * Placement: which node gets which copy of a chunk (docs/transfer.md "Placement"). Every chunk i has
 * a list L_i of the cluster's nodes; pass p goes to `L_i[(p·x) mod n]`, and the R passes land on R
 * distinct nodes exactly when `n / gcd(x mod n, n) ≥ R`. When a target cannot take its copy, the copy
 * goes to `L_i[(p·x + k) mod n]` for k = 1, 2, …, skipping nodes that already hold (or are receiving)
 * the chunk. With a list the person gives (`--nodes`), L_i is that list rotated by i — chunk i, pass p
 * on `list[(i + p·x) mod n]` (`givenLists`); with the default list, L_i spreads the copies by file,
 * chunk and free space (`spreadLists`, spread.ts).
 *
 * Pure: no I/O, no clock, no randomness. It must never place two copies of one chunk on one node, and
 * never silently accept a shift that would (checkPlacement refuses it, naming n, x and R).
 */
import { ArozError } from '../errors.ts';
import { MAX_COPIES } from '../index-file/types.ts';

export { copyShares, type NodeSpace, spreadLists } from './spread.ts';

/** Chunk i's list L_i: pass p of chunk i goes to `L_i[(p·x) mod n]`, its fallbacks follow L_i. */
export type ChunkLists = (i: number) => readonly string[];

/** The lists of a list the person gave: chunk i uses it rotated by i, so pass p is `list[(i + p·x) mod n]`. */
export function givenLists(list: readonly string[]): ChunkLists {
  const n = list.length;
  return (i: number) => (n === 0 ? [] : Array.from({ length: n }, (_, k) => list[((i % n) + k) % n]!));
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** How many distinct nodes the passes of one chunk visit: `n / gcd(x mod n, n)`. */
export function distinctNodes(n: number, x: number): number {
  return n / gcd(x % n, n);
}

/**
 * Throws ERR_PLACEMENT unless R copies on a cluster list of n nodes with shift x land on R distinct
 * nodes (and n, x, R are sensible: n ≥ 1, x a whole number ≥ 0, R from 1 to MAX_COPIES).
 */
export function checkPlacement(n: number, x: number, r: number): void {
  const what = `Cannot place ${r} copies on ${n} nodes with shift ${x}`;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ArozError('ERR_PLACEMENT', `${what}: the cluster list is empty`);
  }
  if (!Number.isSafeInteger(x) || x < 0) {
    throw new ArozError('ERR_PLACEMENT', `${what}: the shift must be a whole number ≥ 0`);
  }
  if (!Number.isSafeInteger(r) || r < 1 || r > MAX_COPIES) {
    throw new ArozError('ERR_PLACEMENT', `${what}: copies must be a whole number from 1 to ${MAX_COPIES}`);
  }
  const distinct = distinctNodes(n, x);
  if (distinct >= r) return;
  if (n < r) {
    throw new ArozError('ERR_PLACEMENT', `${what}: each copy needs its own node (n = ${n} < R = ${r})`);
  }
  throw new ArozError(
    'ERR_PLACEMENT',
    `${what}: the passes reach only n / gcd(x mod n, n) = ${distinct} distinct nodes (R = ${r}); choose another shift, such as 1`,
  );
}

/** Position in the list of pass p of chunk i, plus k steps: `(i + p·x + k) mod n`, without overflow. */
function position(n: number, i: number, p: number, x: number, k = 0): number {
  return ((i % n) + (p % n) * (x % n) + (k % n)) % n;
}

/** The node of pass `p` of chunk `i`: `list[(i + p·x) mod n]`. */
export function target(list: readonly string[], i: number, p: number, x: number): string {
  if (list.length === 0) throw new RangeError('target() needs a non-empty cluster list');
  return list[position(list.length, i, p, x)]!;
}

/** The planned node of every pass of chunk `i`: `[target(list, i, 0, x), …, target(list, i, r − 1, x)]`. */
export function targets(list: readonly string[], i: number, x: number, r: number): string[] {
  return Array.from({ length: r }, (_, p) => target(list, i, p, x));
}

/**
 * The fallback order of pass `p` of chunk `i`: `list[(i + p·x + k) mod n]` for k = 1 … n − 1, skipping
 * every node for which `holding` says yes. Lazy: `holding` is asked as each node comes up, so a caller
 * may add nodes to it (copies placed meanwhile, nodes found dead) while it iterates. Never yields a
 * node twice.
 */
export function* fallbacks(
  list: readonly string[],
  i: number,
  p: number,
  x: number,
  holding: ReadonlySet<string> | ((node: string) => boolean),
): Generator<string, void, undefined> {
  const n = list.length;
  const holds = typeof holding === 'function' ? holding : (node: string) => holding.has(node);
  const yielded = new Set<string>();
  for (let k = 1; k < n; k++) {
    const node = list[position(n, i, p, x, k)]!;
    if (yielded.has(node) || holds(node)) continue;
    yielded.add(node);
    yield node;
  }
}

/**
 * The default cluster list when the user names none: the given nodes (trusted online peers, plus this
 * node if it has a store), without repeats, sorted by node UUID. Every node computes the same order
 * for the same set of nodes, whoever uploads.
 */
export function defaultClusterList(nodes: Iterable<string>): string[] {
  return [...new Set(nodes)].sort();
}
