/**
 * The spread list of each chunk (docs/transfer.md, "Spread placement"): when the cluster list is the
 * default one, every chunk gets its own order of the nodes, derived from the file's index id, the
 * chunk's position and each node's free space, so small files do not all start on the same node and
 * each node takes a share of the copies proportional to its free space.
 *
 * For chunk i of the file with key K (its index id), over the nodes with free space w_j > 0:
 * 1. share t_j = w_j / Σw, capped at 1/R by water-filling (a node can hold at most one copy of a chunk,
 *    so at most 1/R of all copies); Σt = 1.
 * 2. order O_i = the nodes sorted by a 64-bit hash of (K, i, node) — a fresh permutation per chunk.
 * 3. arcs of length R·t_j ≤ 1 laid end to end in the order O_i on a circle of length R; a point u_i in
 *    [0, 1) from the hash of (K, i); the R points u_i, u_i + 1, …, u_i + R − 1 fall in R different arcs
 *    (each arc is shorter than the gap between two points): those are the chunk's R holders, pass p the
 *    one under u_i + p. Node j is a holder with probability exactly R·t_j (systematic sampling).
 * 4. the chunk's list L_i puts holder p at position (p·x) mod n and the other nodes in the free
 *    positions in the order O_i, so the design's rule — pass p on L_i[(p·x) mod n], fallbacks
 *    L_i[(p·x + k) mod n] — picks exactly those holders.
 *
 * Pure and deterministic: the same nodes, free space, key and chunk give the same list on every node,
 * whatever order the nodes are given in. It never lists a node without free space.
 */
import { createHash } from 'node:crypto';

/** A node and the bytes it can take now (its store's `free`); 0 means it gets no copy. */
export interface NodeSpace {
  node: string;
  free: number;
}

/** murmur3's 32-bit finaliser: a bijection on uint32 that mixes every input bit into every output bit. */
function fmix32(h: number): number {
  let x = h >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Two uint32 words of the SHA-256 of a domain-separated string. */
function seed(what: string, value: string): [number, number] {
  const digest = createHash('sha256').update(`arozdfs placement ${what}\0${value}`).digest();
  return [digest.readUInt32BE(0), digest.readUInt32BE(4)];
}

/**
 * Each node's share of the copies: proportional to `free`, none above 1/R (water-filling, largest
 * first), summing to 1. Needs at least R entries with free > 0; entries with free ≤ 0 get 0.
 */
export function copyShares(free: readonly number[], copies: number): number[] {
  const cap = 1 / copies;
  const shares = free.map(() => 0);
  const order = free
    .map((w, k) => ({ w, k }))
    .filter(({ w }) => w > 0)
    .sort((a, b) => b.w - a.w || a.k - b.k);
  let left = 1;
  let weight = order.reduce((sum, { w }) => sum + w, 0);
  let next = 0;
  // Cap the largest while their proportional share of what is left exceeds 1/R.
  for (; next < order.length; next++) {
    const { w, k } = order[next]!;
    if ((left * w) / weight < cap) break;
    shares[k] = cap;
    left -= cap;
    weight -= w;
  }
  for (let m = next; m < order.length; m++) {
    const { w, k } = order[m]!;
    shares[k] = (left * w) / weight;
  }
  return shares;
}

/**
 * The lists of the chunks of one file under spread placement: `lists(i)` is chunk i's list L_i, whose
 * pass p is `L_i[(p·x) mod n]`. `key` is the file's index id. Only nodes with free > 0 are listed, so
 * n is their number; the caller has checked `checkPlacement(n, x, R)`. Throws RangeError on a repeated
 * node, a free space that is not a finite number, or fewer than R nodes with space.
 */
export function spreadLists(
  nodes: readonly NodeSpace[],
  key: string,
  copies: number,
  shift: number,
): (i: number) => string[] {
  const seen = new Set<string>();
  for (const { node, free } of nodes) {
    if (seen.has(node)) throw new RangeError(`spreadLists(): node "${node}" is listed twice`);
    if (!Number.isFinite(free)) throw new RangeError(`spreadLists(): node "${node}" has free space ${free}`);
    seen.add(node);
  }
  // Input order must not matter: work on the nodes with space, sorted.
  const usable = nodes
    .filter((n) => n.free > 0)
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const n = usable.length;
  if (n < copies) throw new RangeError(`spreadLists(): ${n} nodes with space cannot hold ${copies} copies`);
  const arcs = copyShares(
    usable.map((u) => u.free),
    copies,
  ).map((t) => t * copies);
  const hashes = usable.map((u) => seed('node', u.node));
  const [f0, f1] = seed('file', key);
  const positions = Array.from({ length: copies }, (_, p) => ((p % n) * (shift % n)) % n);
  if (new Set(positions).size !== copies) {
    throw new RangeError(
      `spreadLists(): shift ${shift} puts 2 passes on one node of ${n} (checkPlacement refuses it)`,
    );
  }
  return (i: number) => {
    const lo = i >>> 0;
    const hi = Math.floor(i / 2 ** 32) >>> 0;
    const c0 = fmix32(f0 ^ fmix32(lo ^ 0x9e3779b9));
    const c1 = fmix32(f1 ^ fmix32(hi ^ 0x7f4a7c15) ^ c0);
    // The chunk's permutation O_i: by a 64-bit hash of (file, chunk, node); the node breaks ties.
    const keyed = usable.map((u, k) => {
      const h0 = fmix32(hashes[k]![0] ^ c0);
      return { k, h0, h1: fmix32(hashes[k]![1] ^ c1 ^ h0), node: u.node };
    });
    keyed.sort((a, b) => a.h0 - b.h0 || a.h1 - b.h1 || (a.node < b.node ? -1 : 1));
    const order = keyed.map((e) => e.k);
    // The point u_i in [0, 1), 53 bits.
    const u = (fmix32(c0 ^ 0x27d4eb2f) * 2 ** 21 + (fmix32(c1 ^ 0x165667b1) >>> 11)) / 2 ** 53;
    const chosen: number[] = [];
    const taken = new Set<number>();
    let at = 0; // index in `order` of the arc being walked
    let end = arcs[order[0]!]!;
    for (let p = 0; p < copies; p++) {
      const point = u + p;
      while (point >= end && at < n - 1) {
        at++;
        end += arcs[order[at]!]!;
      }
      // In exact arithmetic each arc holds at most one point; rounding could put two in one arc, so
      // a node already chosen hands the pass to the next unchosen node of O_i: distinct by construction.
      let pick = at;
      while (taken.has(order[pick]!)) pick = (pick + 1) % n;
      taken.add(order[pick]!);
      chosen.push(order[pick]!);
    }
    const list: Array<string | undefined> = Array.from({ length: n }, () => undefined);
    for (let p = 0; p < copies; p++) list[positions[p]!] = usable[chosen[p]!]!.node;
    const rest = order.filter((k) => !taken.has(k)).map((k) => usable[k]!.node);
    let r = 0;
    for (let q = 0; q < n; q++) if (list[q] === undefined) list[q] = rest[r++];
    return list as string[];
  };
}
