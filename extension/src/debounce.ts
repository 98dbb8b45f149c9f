// Debouncing and throttling without VS Code: the ready set is re-fetched once after a burst of ledger deltas;
// costs move at most every few seconds while tokens stream in.

export interface Debounced {
  (): void;
  /** Run at once (dropping a pending run). */
  now(): void;
  /** Drop a pending run. */
  cancel(): void;
}

/** A function that runs `fn` once, `ms` after the last call; `now()` runs it at once. */
export function debounced(ms: number, fn: () => Promise<void> | void): Debounced {
  return scheduled(ms, fn, true);
}

/** A function that runs `fn` at most once every `ms` while calls keep coming (a trailing run catches the last
 * call): for figures that must move during a long burst (tokens while polecats work), which a debounce would
 * hold back until the burst ends. */
export function throttled(ms: number, fn: () => Promise<void> | void): Debounced {
  return scheduled(ms, fn, false);
}

/** `restart`: a call pushes a pending run back (debounce) or joins it (throttle). */
function scheduled(ms: number, fn: () => Promise<void> | void, restart: boolean): Debounced {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cancel = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const call = () => {
    if (timer && !restart) return;
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
