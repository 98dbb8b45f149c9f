// The views and the status bar together: what the status bar counts and how the Beads view is captioned.
import { afterEach, describe, expect, it } from "vitest";
import { recorded } from "./vscode-stub";
import type { TownApi } from "../src/client";
import type { BeadSummary, BeadsParams } from "../src/protocol";
import { TownViews } from "../src/views/townViews";
import { bead, deferred } from "./fixtures";

const output = { appendLine: (_: string) => {} } as never;

function fakeTown(ready: string[]) {
  const calls: BeadsParams[] = [];
  const api = {
    async beads(params: BeadsParams = { filter: "all" }) {
      calls.push(params);
      const rows = (list: BeadSummary[]) =>
        list.map((b) => [b.id, b.title, b.status, b.priority, b.issue_type, b.parent ?? null, b.assignee ?? null]);
      if (params.filter === "ready") return { version: 1, rows: rows(ready.map((id) => bead(id))) };
      return {
        version: 1,
        rows: rows([bead("gt-a", { status: "review" }), bead("gt-b"), bead("gt-c", { status: "review" })]),
      };
    },
    async agents() {
      return {
        agents: [
          { id: "mayor", role: "mayor", state: "idle", tokens: 100 },
          { id: "polecat-gt-b", role: "polecat", state: "working", bead_id: "gt-b", tokens: 1200 },
          { id: "polecat-gt-z", role: "polecat", state: "done", tokens: 50 },
        ],
      };
    },
  } as unknown as TownApi;
  return { api, calls };
}

describe("TownViews", () => {
  afterEach(() => recorded.reset());

  it("counts running polecats, tokens, ready and review beads for the status bar", async () => {
    const { api, calls } = fakeTown(["gt-b"]);
    const views = new TownViews(async () => api, output);
    const settled = deferred<void>();
    views.beads.onDidChangeBeads(() => settled.resolve());
    views.connect(api);
    await settled.promise;
    await new Promise((r) => setImmediate(r)); // the ready fetch and agents answer (both already resolved)
    const status = recorded.statusItems.get("gastown.status")!;
    expect(status.text).toContain("1 running");
    expect(status.text).toContain("1 ready");
    expect(status.text).toContain("2 to review");
    expect(status.text).toContain("1.4k tok");
    expect(calls.map((c) => c.filter)).toEqual(expect.arrayContaining(["all", "ready"]));
    views.dispose();
  });

  it("captions the Beads view with its filter and says when the filter hides everything", async () => {
    const { api } = fakeTown([]);
    const views = new TownViews(async () => api, output);
    const settled = deferred<void>();
    views.beads.onDidChangeBeads(() => settled.resolve());
    views.connect(api);
    await settled.promise;
    const view = recorded.treeViews.get("gastown.beads")!;
    expect(view.description).toBeUndefined();
    views.setFilter("ready");
    await new Promise((r) => setImmediate(r));
    expect(view.description).toBe("ready");
    expect(view.message).toMatch(/^No ready beads/);
    expect(recorded.executed).toContainEqual({ command: "setContext", args: ["gastown.beadsFilter", "ready"] });
    views.setFilter("open");
    expect(view.message).toBeUndefined();
    views.dispose();
  });
});

describe("agents that need the Overseer", () => {
  afterEach(() => recorded.reset());

  it("tells each question once, counts them, and shows the question on the row", async () => {
    const { api } = fakeTown([]);
    const views = new TownViews(async () => api, output);
    const asking = {
      id: "polecat-gt-b",
      role: "polecat",
      state: "needs-input",
      bead_id: "gt-b",
      question: "Which config file should hold the flag?",
    } as const;
    views.setAgents([asking, { id: "polecat-gt-c", role: "polecat", state: "working", bead_id: "gt-c" }]);
    views.setAgents([asking]); // the same question again: not told twice
    await new Promise((r) => setImmediate(r));
    const told = recorded.messages.filter((m) => m.level === "warning");
    expect(told.map((m) => m.text)).toEqual([
      "Gas Town: polecat-gt-b on gt-b needs you: Which config file should hold the flag?",
    ]);
    expect(recorded.statusItems.get("gastown.status")!.text).toContain("$(bell-dot) 1 need you");
    const row = views.agents.getTreeItem(views.agents.getChildren()[0]);
    expect(row.description).toContain("“Which config file should hold the flag?”");
    expect((row.tooltip as { value: string }).value).toContain("**Asks you:**");
    expect(row.contextValue).toBe("agent.polecat.needs-input bead active");
    // Answered (working again), then a new question: told again.
    views.setAgents([{ ...asking, state: "working", question: null }]);
    expect(recorded.statusItems.get("gastown.status")!.text).not.toContain("need you");
    views.setAgents([{ ...asking, question: "And the default?" }]);
    await new Promise((r) => setImmediate(r));
    expect(recorded.messages.filter((m) => m.level === "warning")).toHaveLength(2);
    views.dispose();
  });
});
