// Human steps in the Beads view: a formula's step only the Overseer does and closes. Its row says
// "needs you" once nothing blocks it (and the status bar counts it), "waiting" before; its menu offers
// Close (Done by Me) and never Dispatch.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { summaryText, summaryTooltip } from "../src/views/agentsModel";
import {
  BeadsModel,
  beadContext,
  beadDescription,
  beadIcon,
  beadTooltip,
  countHumanSteps,
  decodeBeads,
  humanStep,
} from "../src/views/beadsModel";
import { bead } from "./fixtures";

const ready = bead("gt-e.1", { title: "Approve the design", parent: "gt-e", priority: 1, human: 2 });
const waiting = bead("gt-e.2", { title: "Sign the release", parent: "gt-e", human: 1 });
const closedStep = bead("gt-e.3", { status: "closed", human: 1 });
const task = bead("gt-e.4", { parent: "gt-e", human: 0 });

describe("human steps", () => {
  it("are ready (needs you), waiting, or not one (closed, or any other bead)", () => {
    expect([ready, waiting, closedStep, task, bead("gt-x")].map(humanStep)).toEqual([
      "ready", "waiting", undefined, undefined, undefined,
    ]);
    // A row saying "ready" for a bead that is already closed (a stale flag) is not asked of the Overseer.
    expect(humanStep(bead("gt-y", { status: "closed", human: 2 }))).toBeUndefined();
  });

  it("show needs you, or waiting, in the row's icon, description and tooltip", () => {
    expect(beadIcon(ready)).toEqual({ id: "bell-dot", color: "charts.orange" });
    expect(beadIcon(waiting)).toEqual({ id: "person" });
    expect(beadIcon(closedStep)).toEqual({ id: "pass-filled", color: "charts.green" });
    expect(beadIcon(task)).toEqual({ id: "circle-large-outline" });
    expect(beadDescription(ready)).toBe("needs you · P1 · human step: do it, then close it");
    expect(beadDescription(waiting)).toBe("P2 · human step · waiting");
    expect(beadDescription(task)).toBe("P2 · open");
    const tip = beadTooltip(ready);
    expect(tip).toContain("**Needs you**");
    expect(tip).toContain("do it yourself, then close the bead (**Close (Done by Me)**)");
    expect(beadTooltip(waiting)).toContain("waiting on what blocks it");
    expect(beadTooltip(task)).not.toContain("human step");
  });

  it("are read from the server's rows and counted for the status bar", () => {
    const model = new BeadsModel();
    model.reset(decodeBeads({
      version: 3,
      rows: [
        ["gt-e", "Ship it", "open", 1, "epic", null, null, 0],
        ["gt-e.1", "Approve", "open", 1, "task", "gt-e", null, 2],
        ["gt-e.2", "Sign", "open", 2, "task", "gt-e", null, 1],
        ["gt-e.3", "Build", "in_progress", 2, "task", "gt-e", "polecat-gt-e.3", 0],
      ],
    }));
    expect(countHumanSteps(model)).toBe(1);
    // The approval is closed: the sign-off turns ready in the same delta.
    expect(model.apply({
      version: 4,
      changed: [{ ...model.get("gt-e.1")!, status: "closed", human: 1 }, { ...model.get("gt-e.2")!, human: 2 }],
      removed: [],
    })).toBe("applied");
    expect(countHumanSteps(model)).toBe(1);
    expect(humanStep(model.get("gt-e.2")!)).toBe("ready");
    expect(humanStep(model.get("gt-e.1")!)).toBeUndefined();
  });

  it("count with the agents in the status bar's need you", () => {
    const s = { running: 1, ready: 0, review: 0, tokens: 0, needYou: 1, humanSteps: 2 };
    expect(summaryText(s)).toBe("$(organization) 1 running · $(bell-dot) 3 need you · 0 ready");
    expect(summaryTooltip(s)).toContain("2 human steps for you to do, then close");
    expect(summaryText({ ...s, needYou: 0, humanSteps: 0 })).toBe("$(organization) 1 running · 0 ready");
  });
});

describe("a human step's menu (package.json's when clauses against the row's context value)", () => {
  type Entry = { command: string; when?: string; group?: string };
  const manifest = JSON.parse(readFileSync("package.json", "utf8")) as {
    contributes: { menus: { "view/item/context": Entry[] } };
  };
  /** The commands a Beads row's menu shows for a context value (inline ones marked). */
  function menu(context: string): string[] {
    const out: string[] = [];
    for (const entry of manifest.contributes.menus["view/item/context"]) {
      const m = /^view == gastown\.beads && viewItem =~ \/(.*)\/$/.exec(entry.when ?? "");
      if (!m || !new RegExp(m[1]).test(context)) continue;
      out.push(`${entry.command}${entry.group?.startsWith("inline") ? " (inline)" : ""}`);
    }
    return out.sort();
  }

  it("offers Close (Done by Me), inline when it needs you, and never Dispatch nor a diff", () => {
    expect(beadContext(ready)).toBe("bead.task.open.human-ready");
    expect(beadContext(waiting)).toBe("bead.task.open.human-waiting");
    expect(beadContext(closedStep)).toBe("bead.task.closed");
    expect(menu(beadContext(ready))).toEqual([
      "gastown.bead.done", "gastown.bead.done (inline)", "gastown.bead.setPriority", "gastown.showBead",
    ]);
    expect(menu(beadContext(waiting))).toEqual([
      "gastown.bead.done", "gastown.bead.setPriority", "gastown.showBead",
    ]);
    expect(menu(beadContext(closedStep))).toContain("gastown.bead.reopen");
    expect(menu(beadContext(closedStep))).not.toContain("gastown.bead.done");
    // Any other open bead keeps its own menu.
    expect(menu(beadContext(task))).toEqual([
      "gastown.bead.close", "gastown.bead.dispatch", "gastown.bead.dispatch (inline)", "gastown.bead.openDiff",
      "gastown.bead.setPriority", "gastown.showBead",
    ]);
  });
});
