// The read-only documents' text, the agents' figures, and the commands' argument handling.
import { describe, expect, it } from "vitest";
import { agentIdOf, beadIdOf, nextForReview } from "../src/commandArgs";
import { AgentLogs, beadMarkdown, eventLine } from "../src/docs/text";
import { agentsByBead, formatElapsed, formatTokens, summaryText } from "../src/views/agentsModel";
import { bead } from "./fixtures";

describe("beadMarkdown", () => {
  it("renders the bead's fields, sections, dependencies and comments", () => {
    const text = beadMarkdown({
      id: "gt-1",
      title: "Add multiply",
      status: "in_progress",
      priority: 1,
      issue_type: "feature",
      assignee: "polecat-gt-1",
      description: "Create calc/ops.py",
      acceptance_criteria: "multiply(3, 4) == 12",
      dependencies: [{ issue_id: "gt-1", depends_on_id: "gt-0", type: "parent-child" }],
      comments: [{ author: "overseer", text: "keep it small" }],
      labels: ["calc"],
    });
    expect(text).toContain("# Add multiply");
    expect(text).toContain("**gt-1** · feature · in_progress · P1");
    expect(text).toContain("- Assignee: polecat-gt-1");
    expect(text).toContain("## Acceptance criteria\n\nmultiply(3, 4) == 12");
    expect(text).toContain("- parent-child → gt-0");
    expect(text).toContain("**overseer**");
    expect(text).not.toContain("## Design");
  });
});

describe("agent logs", () => {
  it("writes one line per event with time, kind, tool and verdict", () => {
    expect(
      eventLine({ agent: "p", kind: "tool.execution_start", at: "2026-01-01T10:11:12.5Z", tool: "bash", approved: false, text: "rm -rf /\nnow" }),
    ).toBe("10:11:12  tool.execution_start      bash  (denied)  rm -rf / ⏎ now");
  });

  it("keeps a bounded log per agent", () => {
    const logs = new AgentLogs(3);
    for (let i = 0; i < 5; i++) logs.add({ agent: "a", kind: `k${i}`, at: "2026-01-01T00:00:00Z" });
    logs.add({ agent: "b", kind: "x", at: "2026-01-01T00:00:00Z" });
    expect(logs.lineCount("a")).toBe(3);
    expect(logs.text("a")).toContain("k4");
    expect(logs.text("a")).not.toContain("k1");
    expect(logs.agents()).toEqual(["a", "b"]);
    expect(logs.text("c")).toContain("no events from c yet");
  });
});

describe("agents' figures", () => {
  it("formats tokens and elapsed time", () => {
    expect(formatTokens(0)).toBeUndefined();
    expect(formatTokens(950)).toBe("950 tok");
    expect(formatTokens(12_345)).toBe("12k tok");
    expect(formatTokens(2_500_000)).toBe("2.5M tok");
    expect(formatElapsed(65_000)).toBe("1:05");
    expect(formatElapsed(3_725_000)).toBe("1:02:05");
  });

  it("maps beads to the agent working on them, the active one first", () => {
    const map = agentsByBead([
      { id: "old", role: "polecat", state: "failed", bead_id: "b", updated_at: "2026-01-02" },
      { id: "new", role: "polecat", state: "working", bead_id: "b", updated_at: "2026-01-01" },
      { id: "mayor", role: "mayor", state: "idle" },
    ]);
    expect(map.get("b")?.id).toBe("new");
    expect(map.size).toBe(1);
  });

  it("summarises the town for the status bar", () => {
    expect(summaryText({ running: 2, ready: 3, review: 1, tokens: 4200, needYou: 0 })).toBe(
      "$(organization) 2 running · 3 ready · $(git-pull-request) 1 to review · 4.2k tok",
    );
    expect(summaryText({ running: 0, ready: undefined, review: 0, tokens: 0, needYou: 0 })).toBe(
      "$(organization) 0 running · … ready",
    );
    expect(summaryText({ running: 3, ready: 0, review: 0, tokens: 0, needYou: 2 })).toBe(
      "$(organization) 3 running · $(bell-dot) 2 need you · 0 ready",
    );
  });
});

describe("command arguments", () => {
  it("takes a bead id from a string, a tree node or a summary, and never from an agent", () => {
    expect(beadIdOf("gt-1")).toBe("gt-1");
    expect(beadIdOf({ bead: bead("gt-2"), children: [] })).toBe("gt-2");
    expect(beadIdOf(bead("gt-3"))).toBe("gt-3");
    expect(beadIdOf({ id: "polecat-x", role: "polecat" })).toBeUndefined();
    expect(beadIdOf(undefined)).toBeUndefined();
    expect(agentIdOf({ id: "polecat-x", role: "polecat", state: "working" })).toBe("polecat-x");
  });

  it("reviews the highest-priority bead in review next, skipping those already decided", () => {
    const beads = [
      bead("a", { status: "review", priority: 2 }),
      bead("b", { status: "review", priority: 1 }),
      bead("c", { status: "open", priority: 0 }),
    ];
    expect(nextForReview(beads)?.id).toBe("b");
    expect(nextForReview(beads, new Set(["b"]))?.id).toBe("a");
    expect(nextForReview(beads, new Set(["a", "b"]))).toBeUndefined();
  });
});

describe("questions", () => {
  it("finds new questions, forgets answered ones, and falls back to the detail", async () => {
    const { newQuestions, questionOf } = await import("../src/views/agentsModel");
    const told = new Map<string, string>();
    const a = { id: "a", role: "polecat", state: "needs-input", detail: "Which file?" } as const;
    expect(questionOf(a)).toBe("Which file?");
    expect(questionOf({ ...a, state: "working" })).toBeUndefined();
    expect(newQuestions([a], told).map((x) => x.id)).toEqual(["a"]);
    expect(newQuestions([a], told)).toEqual([]);
    expect(newQuestions([], told)).toEqual([]);
    expect(told.size).toBe(0);
    expect(newQuestions([a], told).map((x) => x.id)).toEqual(["a"]);
  });

  it("offers messages only to live polecats with a bead", async () => {
    const { canMessage } = await import("../src/commandArgs");
    expect(canMessage({ id: "p", role: "polecat", state: "working", bead_id: "gt-1" })).toBe(true);
    expect(canMessage({ id: "p", role: "polecat", state: "done", bead_id: "gt-1" })).toBe(false);
    expect(canMessage({ id: "m", role: "mayor", state: "working" })).toBe(false);
  });
});
