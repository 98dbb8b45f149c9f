import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { debounced, throttled } from "../src/debounce";

describe("debounced and throttled", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("a debounce waits for the burst to end", () => {
    const fn = vi.fn();
    const call = debounced(100, fn);
    for (let i = 0; i < 10; i++) {
      call();
      vi.advanceTimersByTime(50);
    }
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(100);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("a throttle runs during a long burst, at most once per period, and once after its last call", () => {
    const fn = vi.fn();
    const call = throttled(100, fn);
    for (let i = 0; i < 10; i++) {
      call();
      vi.advanceTimersByTime(50);
    }
    expect(fn).toHaveBeenCalledTimes(5); // 500 ms of calls: one run per 100 ms
    call();
    vi.advanceTimersByTime(100);
    expect(fn).toHaveBeenCalledTimes(6);
    vi.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(6); // nothing more without calls
  });

  it("now() runs at once and drops the pending run", () => {
    const fn = vi.fn();
    const call = throttled(100, fn);
    call();
    call.now();
    vi.advanceTimersByTime(200);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
