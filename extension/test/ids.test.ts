import { describe, expect, it } from "vitest";
import { compareIds, naturalKey } from "../src/ids";
import { sortAgents } from "../src/views/agentsModel";
import { BeadsModel } from "../src/views/beadsModel";
import { bead } from "./fixtures";

describe("natural order of hierarchical ids", () => {
  it("orders numeric segments as numbers, the rest as strings", () => {
    const ids = ["gt-x.10", "gt-x.2", "gt-x", "gt-x.1.10", "gt-x.1.9", "gt-a.3", "gt-x.1", "gt-x.02b", "gt-y"];
    expect([...ids].sort(compareIds)).toEqual([
      "gt-a.3",
      "gt-x",
      "gt-x.1",
      "gt-x.1.9",
      "gt-x.1.10",
      "gt-x.2",
      "gt-x.10",
      "gt-x.02b", // not a number: after the numbered children
      "gt-y",
    ]);
    expect(compareIds("gt-x.007", "gt-x.7")).not.toBe(0); // equal numbers, different ids: still a total order
    expect(compareIds("gt-x.3", "gt-x.3")).toBe(0);
    expect(naturalKey("gt-a1b2")).toBe("gt-a1b2"); // no dotted number: the id itself
  });

  it("orders the Beads tree's children and the Agents view that way", () => {
    const model = new BeadsModel();
    const kids = [1, 2, 10, 11, 3].map((n) => bead(`gt-e.${n}`, { parent: "gt-e" }));
    model.reset({ version: 1, beads: [bead("gt-e", { issue_type: "epic" }), ...kids] });
    expect(model.tree()[0].children.map((n) => n.bead.id)).toEqual(["gt-e.1", "gt-e.2", "gt-e.3", "gt-e.10", "gt-e.11"]);
    const agents = ["polecat-gt-e.10", "polecat-gt-e.9"].map((id) => ({ id, role: "polecat", state: "working" }) as const);
    expect(sortAgents(agents).map((a) => a.id)).toEqual(["polecat-gt-e.9", "polecat-gt-e.10"]);
  });
});
