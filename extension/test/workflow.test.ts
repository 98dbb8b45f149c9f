// Convoys in the Beads view and costs in the Agents view's header and the status bar's tooltip.
import { afterEach, describe, expect, it, vi } from "vitest";
import { MarkdownString, ThemeIcon, TreeItemCollapsibleState } from "vscode";
import { recorded } from "./vscode-stub";
import type { TownApi } from "../src/client";
import type { ConvoyProgress, CostsResult } from "../src/protocol";
import { BeadsTreeProvider } from "../src/views/beads";
import { decodeBeads } from "../src/views/beadsModel";
import { TownViews } from "../src/views/townViews";
import { BeadsWithConvoys, type BeadsViewRow } from "../src/views/workflow";
import {
  convoyDescription,
  convoysSummary,
  costsCaption,
  costsTooltip,
  formatSeconds,
  memberState,
} from "../src/views/workflowModel";

function convoy(extra: Partial<ConvoyProgress> = {}): ConvoyProgress {
  return {
    id: "gt-cv1",
    name: "release-1",
    status: "open",
    tracked: ["gt-e", "gt-3"],
    total: 3,
    merged: 1,
    landed: 0,
    members: [
      { id: "gt-e.1", title: "Parse it", status: "closed", merged: true, landed: false },
      { id: "gt-e.2", title: "Test it", status: "in_progress", merged: false, landed: false },
      { id: "gt-3", title: "Docs", status: "open", merged: false, landed: false },
    ],
    ...extra,
  };
}

const COSTS: CostsResult = {
  scope: "all",
  total: { tokens: 12_345, seconds: 185, runs: 5 },
  by_role: {
    mayor: { tokens: 1_000, seconds: 5, runs: 1 },
    polecat: { tokens: 11_345, seconds: 180, runs: 4 },
    reviewer: { tokens: 0, seconds: 0, runs: 0 },
  },
};

describe("workflowModel", () => {
  it("says how far a convoy got", () => {
    expect(convoyDescription(convoy())).toBe("1/3 merged · 0/3 landed");
    expect(convoyDescription(convoy({ merged: 3, landed: 1, merged_at: "t" }))).toBe("merged · 1/3 landed");
    expect(convoyDescription(convoy({ merged: 3, landed: 3, merged_at: "t", landed_at: "u", landed_on: "main" }))).toBe(
      "landed on main · 3/3",
    );
    expect(convoysSummary([convoy(), convoy({ landed_at: "u" })])).toBe("2 convoys · 1 landed");
    expect(convoysSummary([convoy()])).toBe("1 convoy");
    expect(convoy().members.map(memberState)).toEqual(["merged", "in_progress", "open"]);
  });

  it("captions costs, and says nothing before any run", () => {
    expect(formatSeconds(42.4)).toBe("42 s");
    expect(formatSeconds(185)).toBe("3m 05s");
    expect(formatSeconds(3_725)).toBe("1h 02m");
    expect(costsCaption(COSTS)).toBe("12k tok · 3m 05s");
    expect(costsTooltip(COSTS)).toBe("Costs: 12,345 tokens, 3m 05s in 5 runs (Mayor 1,000, polecats 11,345)");
    const none: CostsResult = { scope: "all", total: { tokens: 0, seconds: 0, runs: 0 } };
    expect(costsCaption(none)).toBeUndefined();
    expect(costsTooltip(undefined)).toBeUndefined();
  });
});

describe("BeadsWithConvoys", () => {
  async function tree(list: ConvoyProgress[]) {
    const beads = new BeadsTreeProvider();
    await beads.connect(async () =>
      decodeBeads({
        version: 1,
        rows: [
          ["gt-e", "Add a flag", "open", 1, "epic", null, null, 0],
          ["gt-e.1", "Parse it", "closed", 2, "task", "gt-e", null, 0],
          ["gt-cv1", "release-1", "open", 2, "convoy", null, null, 0],
        ],
      }),
    );
    let answer = list;
    const provider = new BeadsWithConvoys(beads, async () => answer);
    return { beads, provider, set: (next: ConvoyProgress[]) => (answer = next) };
  }

  it("puts a Convoys node on top, each convoy with its progress and its beads; convoy beads leave the bead rows", async () => {
    const { provider } = await tree([convoy()]);
    expect(provider.getChildren()).toHaveLength(1); // before the first fetch: the bead rows only
    await provider.refresh();
    const [root, epic, ...rest] = provider.getChildren();
    expect(rest).toEqual([]); // the convoy bead gt-cv1 is not a bead row
    const rootItem = provider.getTreeItem(root);
    expect([rootItem.label, rootItem.description, rootItem.collapsibleState]).toEqual([
      "Convoys",
      "1 convoy",
      TreeItemCollapsibleState.Collapsed,
    ]);
    expect(provider.getTreeItem(epic).label).toBe("Add a flag"); // bead rows are the bead provider's

    const [row] = provider.getChildren(root);
    const item = provider.getTreeItem(row);
    expect([item.label, item.description, item.id]).toEqual(["release-1", "1/3 merged · 0/3 landed", "convoy:gt-cv1"]);
    expect((item.tooltip as MarkdownString).value).toContain("Tracks: gt-e, gt-3");
    const members = provider.getChildren(row);
    const first = provider.getTreeItem(members[0]);
    // A member row's id differs from the bead's own row (ids are unique in a view); it opens the bead.
    expect([first.id, first.description]).toEqual(["convoy:gt-cv1:gt-e.1", "gt-e.1 · merged"]);
    expect((first.iconPath as ThemeIcon).id).toBe("git-merge");
    expect(first.command?.arguments).toEqual(["gt-e.1"]);
    expect(provider.getParent(members[0])).toBe(row);
    expect(provider.getParent(row)).toBe(root);
    expect(provider.getChildren(epic).map((n) => provider.getTreeItem(n).label)).toEqual(["Parse it"]);
  });

  it("repaints only when the convoys changed, and passes the bead rows' repaints on", async () => {
    const { beads, provider, set } = await tree([convoy()]);
    const repaint = vi.fn();
    provider.onDidChangeTreeData(repaint);
    await provider.refresh();
    await provider.refresh();
    expect(repaint).toHaveBeenCalledTimes(1);
    set([convoy({ merged: 3, landed: 3, merged_at: "t", landed_at: "u", landed_on: "main" })]);
    await provider.refresh();
    expect(repaint).toHaveBeenCalledTimes(2);
    const [root] = provider.getChildren();
    const [row] = provider.getChildren(root);
    expect(provider.getTreeItem(row).description).toBe("landed on main · 3/3");
    const retitled = { id: "gt-e.1", title: "Parse it again", status: "closed", priority: 2, issue_type: "task" };
    await beads.onDelta({ version: 2, changed: [{ ...retitled, parent: "gt-e" }] });
    expect(repaint).toHaveBeenCalledTimes(3);
    set([]);
    await provider.refresh();
    expect(provider.getChildren().map((r: BeadsViewRow) => provider.getTreeItem(r).label)).toEqual(["Add a flag"]);
  });
});

describe("TownViews costs", () => {
  afterEach(() => recorded.reset());

  it("shows the town's costs in the Agents view's header and the status bar's tooltip", async () => {
    const api = {
      async beads() {
        return { version: 1, rows: [] };
      },
      async agents() {
        return { agents: [] };
      },
      async convoys() {
        return { convoys: [convoy()] };
      },
      async costs() {
        return COSTS;
      },
    } as unknown as TownApi;
    const views = new TownViews(async () => api, { appendLine: (_: string) => {} } as never);
    views.connect(api);
    const agentsView = recorded.treeViews.get("gastown.agents") as unknown as { description?: string };
    await vi.waitFor(() => expect(agentsView.description).toBe("12k tok · 3m 05s"));
    const status = recorded.statusItems.get("gastown.status")!;
    expect(String(status.tooltip)).toContain("Costs: 12,345 tokens, 3m 05s in 5 runs");
    await vi.waitFor(() => expect(views.convoys.convoys.map((c) => c.name)).toEqual(["release-1"]));
    views.dispose();
  });
});
