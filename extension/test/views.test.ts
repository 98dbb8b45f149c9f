// The tree providers against the `vscode` stub: what a row shows, and that deltas repaint the tree.
import { describe, expect, it, vi } from "vitest";
import { MarkdownString, ThemeIcon, TreeItemCollapsibleState } from "vscode";
import type { AgentInfo } from "../src/protocol";
import { agentDescription, sortAgents } from "../src/views/agentsModel";
import { AgentsTreeProvider } from "../src/views/agents";
import { BeadsTreeProvider } from "../src/views/beads";
import { bead } from "./fixtures";

describe("BeadsTreeProvider", () => {
  it("shows epics expanded with their tasks, and repaints on a delta", async () => {
    const provider = new BeadsTreeProvider();
    const repaint = vi.fn();
    provider.onDidChangeTreeData(repaint);
    await provider.connect(async () => ({
      version: 1,
      beads: [
        bead("gt-e", { issue_type: "epic", title: "Add a flag", priority: 1 }),
        bead("gt-1", { parent: "gt-e", title: "Parse it", acceptance_criteria: "--flag works" }),
      ],
    }));
    const [epic] = provider.getChildren();
    const epicItem = provider.getTreeItem(epic);
    expect(epicItem.label).toBe("Add a flag");
    expect(epicItem.collapsibleState).toBe(TreeItemCollapsibleState.Expanded);
    expect(epicItem.description).toBe("P1 · open");

    const [task] = provider.getChildren(epic);
    const taskItem = provider.getTreeItem(task);
    expect(taskItem.collapsibleState).toBe(TreeItemCollapsibleState.None);
    expect((taskItem.tooltip as MarkdownString).value).toContain("--flag works");

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

  it("omits what an agent does not have", () => {
    expect(agentDescription(agent("x", { state: "done" }))).toBe("done");
    expect(sortAgents([agent("w", { role: "witness" }), agent("m", { role: "mayor" })]).map((a) => a.id)).toEqual([
      "m",
      "w",
    ]);
  });
});
