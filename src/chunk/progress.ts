/** Progress events of slice and merge (the CLI prints them as a bar or as JSON lines). */
export interface ChunkProgress {
  phase: 'slice' | 'merge';
  /** Bytes done so far and in all. */
  done: number;
  total: number;
  /** Chunks done so far and in all. */
  chunksDone: number;
  chunks: number;
}
