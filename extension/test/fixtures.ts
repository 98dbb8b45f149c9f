import type { BeadSummary } from "../src/protocol";

export function bead(id: string, extra: Partial<BeadSummary> = {}): BeadSummary {
  return {
    id,
    title: `Title of ${id}`,
    status: "open",
    priority: 2,
    issue_type: "task",
    ...extra,
  };
}

/** Resolve-on-demand promise, to hold a fetch in flight. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
