/**
 * The one progress throttle: a value is passed on at once when `ms` have passed since the last one
 * (or when `force`d, e.g. the event that says the work is finished); otherwise the latest is kept and
 * a trailing timer passes it on, so a follower never shows stale figures while the work waits. With
 * `trailing: false` a value that comes too soon is dropped (for events that come often until the end).
 */
export interface Throttle<T> {
  push(value: T, force?: boolean): void;
  /** Passes on the value still waiting, if any. */
  flush(): void;
  /** Drops the waiting value and its timer. */
  cancel(): void;
}

export function throttle<T>(
  ms: number,
  emit: (value: T) => void,
  options: { trailing?: boolean } = {},
): Throttle<T> {
  let last = Number.NEGATIVE_INFINITY;
  let pending: { value: T } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending === undefined) return;
    const { value } = pending;
    pending = undefined;
    last = Date.now();
    emit(value);
  };
  return {
    push(value, force = false) {
      const wait = ms - (Date.now() - last);
      if (!force && wait > 0 && options.trailing === false) return;
      pending = { value };
      if (force || wait <= 0) flush();
      else timer ??= setTimeout(flush, wait);
    },
    flush,
    cancel() {
      clearTimeout(timer);
      timer = undefined;
      pending = undefined;
    },
  };
}
