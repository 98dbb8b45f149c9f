import { describe, expect, it, vi } from "vitest";
import type { BeadSummary } from "../src/protocol";
import {
  BeadsModel,
  BeadsSync,
  type BeadList,
  type BeadNode,
  beadDescription,
  beadTooltip,
  buildTree,
  matchesFilter,
  statusIcon,
} from "../src/views/beadsModel";
import { bead, deferred } from "./fixtures";

/** The tree as nested ids, e.g. ["e1", ["t1", "t2"]]. */
function shape(nodes: BeadNode[]): unknown[] {
  return nodes.flatMap((n) => (n.children.length ? [n.bead.id, shape(n.children)] : [n.bead.id]));
}

function allIds(nodes: BeadNode[]): string[] {
  return nodes.flatMap((n) => [n.bead.id, ...allIds(n.children)]);
}

describe("buildTree", () => {
  it("puts tasks under their epic, sorted by priority then id", () => {
    const beads = [
      bead("gt-t3", { parent: "gt-e1", priority: 1 }),
      bead("gt-e1", { issue_type: "epic", priority: 1 }),
      bead("gt-t1", { parent: "gt-e1", priority: 2 }),
      bead("gt-t2", { parent: "gt-e1", priority: 0 }),
    ];
    expect(shape(buildTree(beads))).toEqual(["gt-e1", ["gt-t2", "gt-t3", "gt-t1"]]);
  });

  it("keeps several epics apart and nests deeper levels", () => {
    const beads = [
      bead("a-epic", { issue_type: "epic", priority: 2 }),
      bead("b-epic", { issue_type: "epic", priority: 0 }),
      bead("a-1", { parent: "a-epic" }),
      bead("b-1", { parent: "b-epic" }),
      bead("b-1-x", { parent: "b-1" }),
    ];
    expect(shape(buildTree(beads))).toEqual(["b-epic", ["b-1", ["b-1-x"]], "a-epic", ["a-1"]]);
  });

  it("shows a bead whose parent is unknown as a root", () => {
    const roots = buildTree([bead("t1", { parent: "missing" }), bead("e1")]);
    expect(roots.map((r) => r.bead.id)).toEqual(["e1", "t1"]);
  });

  it("never loses a bead to a parent cycle or a self-parent", () => {
    const beads = [bead("x", { parent: "y" }), bead("y", { parent: "x" }), bead("z", { parent: "z" })];
    const ids = allIds(buildTree(beads)).sort();
    expect(ids).toEqual(["x", "y", "z"]);
  });
});

describe("row text", () => {
  it("describes priority, status and assignee", () => {
    expect(beadDescription(bead("t", { priority: 1, status: "in_progress", assignee: "polecat-t" }))).toBe(
      "P1 · in_progress · polecat-t",
    );
    expect(beadDescription(bead("t", { priority: 3, status: "closed" }))).toBe("P3 · closed");
  });

  it("puts the acceptance criteria in the tooltip", () => {
    const tip = beadTooltip(bead("gt-9"), undefined, { acceptance_criteria: "- prints --help\n- exits 0", labels: ["cli"] });
    expect(tip).toContain("**gt-9**");
    expect(tip).toContain("Acceptance criteria");
    expect(tip).toContain("- exits 0");
    expect(tip).toContain("Labels: cli");
    expect(beadTooltip(bead("gt-8"))).not.toContain("Acceptance criteria");
  });

  it("gives closed and blocked beads distinct icons", () => {
    expect(statusIcon("closed").id).toBe("pass-filled");
    expect(statusIcon("blocked").id).not.toBe(statusIcon("open").id);
    expect(statusIcon("something-new").id).toBe("circle-outline");
  });
});

describe("BeadsModel.apply", () => {
  const start = (): BeadsModel => {
    const m = new BeadsModel();
    m.reset({ version: 3, beads: [bead("e1", { issue_type: "epic" }), bead("t1", { parent: "e1" })] });
    return m;
  };

  it("asks for a fetch when nothing is known yet", () => {
    expect(new BeadsModel().apply({ version: 1, changed: [bead("a")] })).toBe("gap");
  });

  it("applies the next version: changes, additions and removals", () => {
    const m = start();
    const outcome = m.apply({
      version: 4,
      changed: [bead("t1", { parent: "e1", status: "closed" }), bead("t2", { parent: "e1" })],
      removed: ["e1"],
    });
    expect(outcome).toBe("applied");
    expect(m.version).toBe(4);
    expect(m.get("t1")?.status).toBe("closed");
    expect(m.get("t2")).toBeDefined();
    expect(m.get("e1")).toBeUndefined();
    // With the epic gone its tasks become roots.
    expect(shape(m.tree())).toEqual(["t1", "t2"]);
  });

  it("ignores a version it already has", () => {
    const m = start();
    expect(m.apply({ version: 3, changed: [bead("t1", { status: "closed" })] })).toBe("stale");
    expect(m.apply({ version: 2, removed: ["t1"] })).toBe("stale");
    expect(m.get("t1")?.status).toBe("open");
    expect(m.size).toBe(2);
    expect(m.version).toBe(3);
  });

  it("reports a gap and changes nothing when a version was skipped", () => {
    const m = start();
    expect(m.apply({ version: 5, changed: [bead("t9")], removed: ["t1"] })).toBe("gap");
    expect(m.version).toBe(3);
    expect(m.get("t9")).toBeUndefined();
    expect(m.get("t1")).toBeDefined();
  });
});

describe("BeadsSync", () => {
  const result = (version: number, ...ids: string[]): BeadList => ({
    version,
    beads: ids.map((id) => bead(id)),
  });

  it("fetches once at start and then follows deltas without fetching", async () => {
    const fetchAll = vi.fn(async () => result(1, "a"));
    const onChange = vi.fn();
    const sync = new BeadsSync(fetchAll, onChange);
    await sync.refresh();
    await sync.onDelta({ version: 2, changed: [bead("b")] });
    await sync.onDelta({ version: 3, changed: [bead("a", { status: "closed" })] });
    expect(fetchAll).toHaveBeenCalledTimes(1);
    expect(sync.model.version).toBe(3);
    expect(sync.model.get("a")?.status).toBe("closed");
    expect(onChange).toHaveBeenCalledTimes(3);
  });

  it("re-fetches when a delta skips a version, and uses the fresh list", async () => {
    const answers = [result(1, "a"), result(4, "a", "b", "c")];
    const fetchAll = vi.fn(async () => answers.shift()!);
    const sync = new BeadsSync(fetchAll);
    await sync.refresh();
    await sync.onDelta({ version: 3, changed: [bead("c")] }); // 2 was missed
    expect(fetchAll).toHaveBeenCalledTimes(2);
    expect(sync.model.version).toBe(4);
    expect(sync.model.all().map((b) => b.id)).toEqual(["a", "b", "c"]);
  });

  it("re-fetches when a delta arrives before any list", async () => {
    const fetchAll = vi.fn(async () => result(7, "x"));
    const sync = new BeadsSync(fetchAll);
    await sync.onDelta({ version: 7, changed: [bead("x")] });
    expect(fetchAll).toHaveBeenCalledTimes(1);
    expect(sync.model.version).toBe(7);
  });

  it("holds deltas that arrive during a fetch and replays the newer ones on top", async () => {
    const pending = deferred<BeadList>();
    const fetchAll = vi.fn(() => pending.promise);
    const sync = new BeadsSync(fetchAll);
    const first = sync.refresh();
    const d6 = sync.onDelta({ version: 6, changed: [bead("new")] });
    const d5 = sync.onDelta({ version: 5, changed: [bead("old-change", { title: "stale" })] });
    pending.resolve(result(5, "a"));
    await Promise.all([first, d5, d6]);
    expect(fetchAll).toHaveBeenCalledTimes(1);
    expect(sync.model.version).toBe(6);
    expect(sync.model.get("new")).toBeDefined();
    // Version 5 was already in the list: its held delta must not be re-applied.
    expect(sync.model.get("old-change")).toBeUndefined();
  });

  it("shares one request between concurrent refreshes", async () => {
    const pending = deferred<BeadList>();
    const fetchAll = vi.fn(() => pending.promise);
    const sync = new BeadsSync(fetchAll);
    const a = sync.refresh();
    const b = sync.refresh();
    pending.resolve(result(1, "a"));
    await Promise.all([a, b]);
    expect(fetchAll).toHaveBeenCalledTimes(1);
  });

  it("fetches again while held deltas still leave a gap, but not forever", async () => {
    // A broken server: every answer is v1, and each time a far-ahead delta arrives meanwhile.
    let sync: BeadsSync | undefined;
    const fetchAll = vi.fn(async () => {
      void sync!.onDelta({ version: 9, changed: [bead("far")] });
      return result(1, "a");
    });
    sync = new BeadsSync(fetchAll, () => {}, 3);
    await sync.refresh();
    expect(fetchAll).toHaveBeenCalledTimes(3);
    expect(sync.model.version).toBe(1);
    expect(sync.model.get("far")).toBeUndefined();
  });

  it("drops a held delta that still gaps once a fresh list came", async () => {
    const pending = deferred<BeadList>();
    const answers = [pending.promise, Promise.resolve(result(9, "a", "far"))];
    const fetchAll = vi.fn(() => answers.shift()!);
    const sync = new BeadsSync(fetchAll);
    const first = sync.refresh();
    void sync.onDelta({ version: 9, changed: [bead("far")] });
    pending.resolve(result(1, "a")); // v2..v8 were lost: fetch again
    await first;
    expect(fetchAll).toHaveBeenCalledTimes(2);
    expect(sync.model.version).toBe(9);
    expect(sync.model.get("far")).toBeDefined();
  });
});

describe("BeadsModel: the tree kept up to date by deltas", () => {
  /** The tree built from scratch by the simplest rule: a reference for the incremental one. */
  function reference(beads: BeadSummary[]): unknown[] {
    const byId = new Map(beads.map((b) => [b.id, b]));
    const parentOf = new Map<string, string | undefined>();
    for (const b of beads) {
      const p = b.parent && b.parent !== b.id && byId.has(b.parent) ? b.parent : undefined;
      parentOf.set(b.id, p);
    }
    // Break cycles the way the model does not promise to: compare only acyclic inputs.
    const kids = (id: string | undefined) =>
      beads
        .filter((b) => parentOf.get(b.id) === id)
        .sort((x, y) => x.priority - y.priority || (x.id < y.id ? -1 : 1))
        .flatMap((b): unknown[] => {
          const sub = kids(b.id);
          return sub.length ? [b.id, sub] : [b.id];
        });
    return kids(undefined);
  }

  it("matches a from-scratch build after random deltas (adds, moves, re-prioritising, removals)", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 30; round++) {
      // Parents always have a smaller number than their child: no cycles.
      const ids = Array.from({ length: 40 }, (_, i) => `b${String(i).padStart(2, "0")}`);
      const make = (i: number, extra: Partial<BeadSummary> = {}) =>
        bead(ids[i], { priority: rand(4), parent: i > 0 && rand(3) ? ids[rand(i)] : null, ...extra });
      let live = new Map<string, BeadSummary>();
      for (let i = 0; i < 20; i++) live.set(ids[i], make(i));
      const model = new BeadsModel();
      model.reset({ version: 1, beads: [...live.values()] });
      for (let v = 2; v < 12; v++) {
        const changed: BeadSummary[] = [];
        const removed: string[] = [];
        for (let k = 0; k < 6; k++) {
          const i = rand(40);
          if (rand(5) === 0 && live.has(ids[i])) {
            removed.push(ids[i]);
            live.delete(ids[i]);
            for (let c = changed.length - 1; c >= 0; c--) if (changed[c].id === ids[i]) changed.splice(c, 1);
          } else {
            const b = make(i);
            changed.push(b);
            live.set(b.id, b);
            const at = removed.indexOf(b.id);
            if (at >= 0) removed.splice(at, 1);
          }
        }
        // Within one delta the server sends each bead once: keep the last version of each.
        const last = new Map(changed.map((b) => [b.id, b]));
        live = new Map([...live].filter(([id]) => !removed.includes(id) || last.has(id)));
        expect(model.apply({ version: v, changed: [...last.values()], removed: removed.filter((id) => !last.has(id)) })).toBe("applied");
        expect(shape(model.tree())).toEqual(reference([...live.values()]));
        // Parent links agree with the children lists.
        for (const node of model.values()) for (const c of node.children) expect(c.parent).toBe(node);
      }
    }
  });

  it("reports which rows a delta touched, or everything when the roots changed", () => {
    const m = new BeadsModel();
    m.reset({ version: 1, beads: [bead("e", { issue_type: "epic" }), bead("t1", { parent: "e" }), bead("t2", { parent: "e" })] });
    const e = m.node("e")!;
    const t1 = m.node("t1")!;
    m.apply({ version: 2, changed: [bead("t1", { parent: "e", status: "closed" })] });
    expect(m.lastChange).toEqual({ all: false, nodes: [t1] });
    m.apply({ version: 3, changed: [bead("t3", { parent: "e" })] });
    expect(m.lastChange.all).toBe(false);
    expect(m.lastChange.all === false && m.lastChange.nodes).toContain(e);
    m.apply({ version: 4, removed: ["t2"] });
    expect(m.lastChange).toEqual({ all: false, nodes: [e] });
    m.apply({ version: 5, changed: [bead("root2")] });
    expect(m.lastChange).toEqual({ all: true });
  });

  it("hangs tasks under an epic that arrives after them, and frees them when it goes", () => {
    const m = new BeadsModel();
    m.reset({ version: 1, beads: [bead("t1", { parent: "e" }), bead("t2", { parent: "e" })] });
    expect(shape(m.tree())).toEqual(["t1", "t2"]);
    m.apply({ version: 2, changed: [bead("e", { issue_type: "epic", priority: 0 })] });
    expect(shape(m.tree())).toEqual(["e", ["t1", "t2"]]);
    m.apply({ version: 3, removed: ["e"] });
    expect(shape(m.tree())).toEqual(["t1", "t2"]);
    m.apply({ version: 4, changed: [bead("e", { issue_type: "epic", priority: 0 })] });
    expect(shape(m.tree())).toEqual(["e", ["t1", "t2"]]);
  });

  it("moves a task to another epic and keeps node identity through a full re-fetch", () => {
    const m = new BeadsModel();
    m.reset({ version: 1, beads: [bead("a"), bead("b"), bead("t", { parent: "a" })] });
    const t = m.node("t")!;
    m.apply({ version: 2, changed: [bead("t", { parent: "b" })] });
    expect(shape(m.tree())).toEqual(["a", "b", ["t"]]);
    expect(t.parent).toBe(m.node("b"));
    m.reset({ version: 5, beads: [bead("a"), bead("b"), bead("t", { parent: "a", status: "closed" })] });
    expect(m.node("t")).toBe(t);
    expect(shape(m.tree())).toEqual(["a", ["t"], "b"]);
  });

  it("does not lose beads when a change would make a parent cycle", () => {
    const m = new BeadsModel();
    m.reset({ version: 1, beads: [bead("x"), bead("y", { parent: "x" })] });
    m.apply({ version: 2, changed: [bead("x", { parent: "y" })] });
    expect(allIds(m.tree()).sort()).toEqual(["x", "y"]);
  });
});

describe("matchesFilter", () => {
  it("ready comes from the server's set; open is not closed; all hides tombstones", () => {
    const ready = new Set(["r"]);
    expect(matchesFilter(bead("r"), "ready", ready)).toBe(true);
    expect(matchesFilter(bead("x"), "ready", ready)).toBe(false);
    expect(matchesFilter(bead("x", { status: "review" }), "open", ready)).toBe(true);
    expect(matchesFilter(bead("x", { status: "closed" }), "open", ready)).toBe(false);
    expect(matchesFilter(bead("x", { status: "closed" }), "all", ready)).toBe(true);
    expect(matchesFilter(bead("x", { status: "tombstone" }), "all", ready)).toBe(false);
  });
});

describe("decodeBeads", () => {
  it("reads rows in the server's BEAD_ROW order", async () => {
    const { BEAD_ROW } = await import("../src/contracts");
    const { decodeBeads } = await import("../src/views/beadsModel");
    const row: [string, string, string, number, string, string | null, string | null, 0 | 1 | 2] = [
      "gt-1", "Parse it", "review", 1, "task", "gt-e", "polecat-gt-1", 2,
    ];
    const [decoded] = decodeBeads({ version: 4, rows: [row] }).beads;
    // The decoder names the columns in the order the server writes them (generated from its model).
    expect(Object.keys(decoded)).toEqual([...BEAD_ROW]);
    expect(Object.values(decoded)).toEqual(row);
    expect(decodeBeads({ version: 4, rows: [] })).toEqual({ version: 4, beads: [] });
  });
});
