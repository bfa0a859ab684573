/**
 * The one bounded-concurrency helper: `work` runs on every item, at most `limit` at a time, items
 * taken in order. Each worker gets its own state from `init` (e.g. its reused buffers). After the
 * first failure no worker takes another item; once the ones in flight have settled, that failure is
 * thrown. `onError` hears it at once (e.g. to abort the work in flight).
 */
export async function eachLimited<T, S = undefined>(
  items: readonly T[],
  limit: number,
  work: (item: T, state: S) => Promise<void>,
  options: { init?: () => S; onError?: (err: unknown) => void } = {},
): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    const state = options.init === undefined ? (undefined as S) : options.init();
    while (failure === undefined && next < items.length) await work(items[next++] as T, state);
  };
  const workers = Math.min(Math.max(1, limit), items.length);
  await Promise.all(
    Array.from({ length: workers }, () =>
      worker().catch((err: unknown) => {
        if (failure !== undefined) return;
        failure = { err };
        options.onError?.(err);
      }),
    ),
  );
  if (failure !== undefined) throw (failure as { err: unknown }).err;
}
