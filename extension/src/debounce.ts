// Debouncing without VS Code: the ready set is re-fetched once after a burst of ledger deltas.

export interface Debounced {
  (): void;
  /** Run at once (dropping a pending run). */
  now(): void;
  /** Drop a pending run. */
  cancel(): void;
}

/** A function that runs `fn` once, `ms` after the last call; `now()` runs it at once. */
export function debounced(ms: number, fn: () => Promise<void> | void): Debounced {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cancel = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const call = () => {
    cancel();
    timer = setTimeout(() => {
      timer = undefined;
      void fn();
    }, ms);
  };
  call.now = () => {
    cancel();
    void fn();
  };
  call.cancel = cancel;
  return call;
}
