// The tree providers against the `vscode` stub: what a row shows, and that deltas repaint the tree.
import { describe, expect, it, vi } from "vitest";
import { MarkdownString, ThemeIcon, TreeItemCollapsibleState } from "vscode";
import type { AgentInfo } from "../src/protocol";
import { agentDescription, agentTooltip, sortAgents } from "../src/views/agentsModel";
import { AgentsTreeProvider } from "../src/views/agents";
import { BeadsTreeProvider } from "../src/views/beads";
import { decodeBeads } from "../src/views/beadsModel";
import { bead } from "./fixtures";

describe("BeadsTreeProvider", () => {
  it("shows epics expanded with their tasks, and repaints on a delta", async () => {
    // The list carries the rows; a hovered row's labels and acceptance criteria come from gastown/bead.
    const fetched: string[] = [];
    const provider = new BeadsTreeProvider(async (id) => {
      fetched.push(id);
      return { acceptance_criteria: "--flag works", labels: ["cli"] };
    });
    const repaint = vi.fn();
    provider.onDidChangeTreeData(repaint);
    await provider.connect(async () =>
      decodeBeads({
        version: 1,
        rows: [
          ["gt-e", "Add a flag", "open", 1, "epic", null, null, 0],
          ["gt-1", "Parse it", "open", 2, "task", "gt-e", null, 0],
        ],
      }),
    );
    const [epic] = provider.getChildren();
    const epicItem = provider.getTreeItem(epic);
    expect(epicItem.label).toBe("Add a flag");
    expect(epicItem.collapsibleState).toBe(TreeItemCollapsibleState.Expanded);
    expect(epicItem.description).toBe("P1 · open");

    const [task] = provider.getChildren(epic);
    const taskItem = provider.getTreeItem(task);
    expect(taskItem.collapsibleState).toBe(TreeItemCollapsibleState.None);
    // The tooltip is built on hover (resolveTreeItem), not for every row.
    expect(taskItem.tooltip).toBeUndefined();
    const tip = ((await provider.resolveTreeItem(taskItem, task)).tooltip as MarkdownString).value;
    expect(tip).toContain("--flag works");
    expect(tip).toContain("Labels: cli");
    expect(fetched).toEqual(["gt-1"]);

    await provider.onDelta({
      version: 2,
      changed: [bead("gt-1", { parent: "gt-e", status: "closed", assignee: "polecat-gt-1" })],
    });
    expect(repaint).toHaveBeenCalledTimes(2);
    const closed = provider.getTreeItem(provider.getChildren(provider.getChildren()[0])[0]);
    expect(closed.description).toBe("P2 · closed · polecat-gt-1");
    expect((closed.iconPath as ThemeIcon).id).toBe("pass-filled");
    expect(provider.version).toBe(2);
  });
});

describe("BeadsTreeProvider tooltips", () => {
  it("still shows the row's facts when the details cannot be fetched", async () => {
    const provider = new BeadsTreeProvider(async () => {
      throw new Error("server restarting");
    });
    await provider.connect(async () => ({ version: 1, beads: [bead("gt-1", { assignee: "polecat-gt-1" })] }));
    const [row] = provider.getChildren();
    const tip = ((await provider.resolveTreeItem(provider.getTreeItem(row), row)).tooltip as MarkdownString).value;
    expect(tip).toContain("**gt-1**");
    expect(tip).toContain("Assignee: polecat-gt-1");
    expect(tip).not.toContain("Acceptance criteria");
  });
});

describe("AgentsTreeProvider", () => {
  const agent = (id: string, extra: Partial<AgentInfo> = {}): AgentInfo => ({
    id,
    role: "polecat",
    state: "working",
    ...extra,
  });

  it("replaces the list on each status and orders the mayor first", () => {
    const provider = new AgentsTreeProvider();
    provider.set([agent("polecat-b"), agent("mayor", { role: "mayor", state: "idle" }), agent("polecat-a")]);
    expect(provider.getChildren().map((a) => a.id)).toEqual(["mayor", "polecat-a", "polecat-b"]);
    provider.set([agent("polecat-c", { bead_id: "gt-c", current_tool: "create" })]);
    const rows = provider.getChildren();
    expect(rows.map((a) => a.id)).toEqual(["polecat-c"]);
    expect(provider.getTreeItem(rows[0]).description).toBe("working · gt-c · create");
  });

  it("shows the runtime host a polecat runs on", () => {
    expect(agentDescription(agent("p", { bead_id: "gt-a", host: "h1", current_tool: "bash" }))).toBe(
      "working · gt-a · on h1 · bash",
    );
    expect(agentTooltip(agent("p", { host: "h1" }))).toContain("Runs on: runtime host h1");
    expect(agentTooltip(agent("q"))).toContain("Runs on: this machine");
  });

  it("omits what an agent does not have", () => {
    expect(agentDescription(agent("x", { state: "done" }))).toBe("done");
    expect(sortAgents([agent("w", { role: "witness" }), agent("m", { role: "mayor" })]).map((a) => a.id)).toEqual([
      "m",
      "w",
    ]);
  });
});

describe("BeadsTreeProvider: repaints, filters, agents", () => {
  const epicAndTasks = async (provider: BeadsTreeProvider) => {
    await provider.connect(async () => ({
      version: 1,
      beads: [
        bead("e", { issue_type: "epic", priority: 1 }),
        bead("t1", { parent: "e", priority: 1 }),
        bead("t2", { parent: "e", priority: 2, status: "closed" }),
        bead("t3", { parent: "e", priority: 3, status: "blocked" }),
        bead("old", { status: "tombstone" }),
      ],
    }));
  };

  it("repaints only the rows a delta touched", async () => {
    const provider = new BeadsTreeProvider();
    await epicAndTasks(provider);
    const fired: unknown[] = [];
    provider.onDidChangeTreeData((e) => fired.push(e));
    const t1 = provider.getChildren(provider.getChildren()[0])[0];
    await provider.onDelta({ version: 2, changed: [bead("t1", { parent: "e", priority: 1, status: "in_progress" })] });
    expect(fired).toEqual([[t1]]);
    // The same node object, updated in place (VS Code finds rows by the element it was given).
    expect(provider.getChildren(provider.getChildren()[0])[0]).toBe(t1);
    expect(t1.bead.status).toBe("in_progress");
    // A priority change re-sorts the siblings: the parent repaints too.
    await provider.onDelta({ version: 3, changed: [bead("t3", { parent: "e", priority: 0, status: "blocked" })] });
    const epic = provider.getChildren()[0];
    expect(fired[1]).toEqual(expect.arrayContaining([epic]));
    expect(provider.getChildren(epic).map((n) => n.bead.id)).toEqual(["t3", "t1", "t2"]);
    // A new root repaints everything.
    await provider.onDelta({ version: 4, changed: [bead("e2", { issue_type: "epic" })] });
    expect(fired[2]).toBeUndefined();
  });

  it("hides tombstones, and filters open and ready beads keeping their epic", async () => {
    const provider = new BeadsTreeProvider();
    await epicAndTasks(provider);
    const ids = () => provider.getChildren().flatMap((n) => [n.bead.id, ...provider.getChildren(n).map((c) => c.bead.id)]);
    expect(ids()).toEqual(["e", "t1", "t2", "t3"]);
    provider.setFilter("open");
    expect(ids()).toEqual(["e", "t1", "t3"]);
    provider.setFilter("ready");
    expect(ids()).toEqual([]);
    provider.setReady(new Set(["t1"]));
    expect(ids()).toEqual(["e", "t1"]); // the epic is shown for context, though not ready itself
    expect(provider.count()).toBe(1);
    // A delta under a filter: recomputed, full repaint.
    const fired: unknown[] = [];
    provider.onDidChangeTreeData((e) => fired.push(e));
    provider.setFilter("open");
    await provider.onDelta({ version: 2, changed: [bead("t1", { parent: "e", priority: 1, status: "closed" })] });
    expect(fired).toEqual([undefined, undefined]);
    expect(ids()).toEqual(["e", "t3"]);
  });

  it("an epic whose tasks are all filtered out is not expandable", async () => {
    const provider = new BeadsTreeProvider();
    await provider.connect(async () => ({
      version: 1,
      beads: [bead("e", { issue_type: "epic" }), bead("t", { parent: "e", status: "closed" })],
    }));
    provider.setFilter("open");
    const [epic] = provider.getChildren();
    expect(provider.getTreeItem(epic).collapsibleState).toBe(TreeItemCollapsibleState.None);
    provider.setFilter("all");
    expect(provider.getTreeItem(epic).collapsibleState).toBe(TreeItemCollapsibleState.Expanded);
  });

  it("shows the agent working on a bead and repaints just that row", async () => {
    const provider = new BeadsTreeProvider();
    await epicAndTasks(provider);
    const fired: unknown[] = [];
    provider.onDidChangeTreeData((e) => fired.push(e));
    const agent: AgentInfo = { id: "polecat-t1", role: "polecat", state: "working", bead_id: "t1", current_tool: "create" };
    provider.setAgents([agent]);
    const t1 = provider.getChildren(provider.getChildren()[0])[0];
    expect(fired).toEqual([[t1]]);
    const item = provider.getTreeItem(t1);
    expect(item.description).toBe("P1 · open · polecat-t1 · working: create");
    expect(item.contextValue).toBe("bead.task.open");
    expect(item.command).toEqual({ command: "gastown.showBead", title: "Show Bead", arguments: ["t1"] });
    provider.setAgents([agent]); // nothing changed: no repaint
    expect(fired).toHaveLength(1);
  });

  it("re-fetches on reconnect (a restarted server) and keeps the filter", async () => {
    const provider = new BeadsTreeProvider();
    await epicAndTasks(provider);
    provider.setFilter("open");
    await provider.connect(async () => ({ version: 9, beads: [bead("z"), bead("y", { status: "closed" })] }));
    expect(provider.filter).toBe("open");
    expect(provider.getChildren().map((n) => n.bead.id)).toEqual(["z"]);
    expect(provider.version).toBe(9);
  });
});

describe("AgentsTreeProvider: elapsed time, tokens, actions", () => {
  it("describes state, bead, tool, tokens and elapsed time", () => {
    const now = Date.parse("2026-01-01T00:01:05Z");
    const provider = new AgentsTreeProvider(() => now);
    provider.set([
      {
        id: "polecat-gt-1",
        role: "polecat",
        state: "working",
        bead_id: "gt-1",
        current_tool: "create",
        tokens: 1234,
        worktree: "/w/gt-1",
        started_at: "2026-01-01T00:00:00Z",
        updated_at: "2026-01-01T00:00:30Z",
      },
    ]);
    const item = provider.getTreeItem(provider.getChildren()[0]);
    expect(item.description).toBe("working · gt-1 · create · 1.2k tok · 1:05");
    expect(item.contextValue).toBe("agent.polecat.working bead worktree active");
    expect(item.command?.command).toBe("gastown.agent.openLog");
    expect((item.tooltip as MarkdownString).value).toContain("Worktree: `/w/gt-1`");
  });

  it("stops the clock of a finished agent at its last update", () => {
    const provider = new AgentsTreeProvider(() => Date.parse("2026-01-01T01:00:00Z"));
    provider.set([
      { id: "p", role: "polecat", state: "done", started_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:42Z" },
    ]);
    expect(provider.getTreeItem(provider.getChildren()[0]).description).toBe("done · 0:42");
  });

  it("ticks only while visible and something runs", () => {
    vi.useFakeTimers();
    try {
      const provider = new AgentsTreeProvider();
      const repaint = vi.fn();
      provider.onDidChangeTreeData(repaint);
      provider.set([{ id: "p", role: "polecat", state: "working" }]);
      vi.advanceTimersByTime(3000);
      expect(repaint).toHaveBeenCalledTimes(1); // not visible: no ticks
      provider.setVisible(true);
      vi.advanceTimersByTime(3000);
      expect(repaint).toHaveBeenCalledTimes(4);
      provider.set([{ id: "p", role: "polecat", state: "done" }]);
      vi.advanceTimersByTime(3000);
      expect(repaint).toHaveBeenCalledTimes(5);
      provider.dispose();
    } finally {
      vi.useRealTimers();
    }
  });
});
