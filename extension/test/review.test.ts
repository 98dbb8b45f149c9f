// Review: URIs of the review documents, the lenses over the head side, the verdicts they send, and the
// controller against the vscode stub (lenses from a diff, a line comment becoming a hunk rejection).
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Uri } from "vscode";
import type { TownApi } from "../src/client";
import type { ReviewParams, ReviewResult } from "../src/protocol";
import {
  BeadReview,
  parseReviewUri,
  REVIEW_SCHEME,
  ReviewCommands,
  reviewLenses,
  reviewParams,
  reviewUriParts,
  verdictText,
} from "../src/review/model";
import { ReviewController, reviewUri, SUBMIT_COMMENT } from "../src/review/review";
import { recorded } from "./vscode-stub";
import { CALC_FILE, CALC_HEAD, CALC_HUNK_IMPORT, CALC_HUNK_TAIL, diffOf, NEW_FILE } from "./diffFixtures";

const LINES = CALC_HEAD.split("\n").length;

describe("review URIs", () => {
  it("round-trips bead, path, side and revision; the path keeps the file name", () => {
    const parts = reviewUriParts({ beadId: "gt-b1", path: "src/a b.py", side: "head", rev: "c0ffee" });
    expect(parts.path).toBe("/src/a b.py");
    expect(parseReviewUri({ scheme: REVIEW_SCHEME, ...parts })).toEqual({
      beadId: "gt-b1",
      path: "src/a b.py",
      side: "head",
      rev: "c0ffee",
    });
  });

  it("rejects other schemes and incomplete queries", () => {
    expect(parseReviewUri({ scheme: "file", path: "/x.py", query: "bead=a&side=head" })).toBeUndefined();
    expect(parseReviewUri({ scheme: REVIEW_SCHEME, path: "/x.py", query: "bead=a&side=left" })).toBeUndefined();
    expect(parseReviewUri({ scheme: REVIEW_SCHEME, path: "/", query: "bead=a&side=base" })).toBeUndefined();
  });
});

describe("reviewLenses", () => {
  const titles = (r: BeadReview, path = "calc.py") => reviewLenses(r, path, LINES).map((l) => [l.line, l.title]);

  it("puts file and branch verdicts at the top and Accept · Reject · Comment over each hunk", () => {
    const review = new BeadReview(diffOf([CALC_FILE, NEW_FILE]));
    const lenses = reviewLenses(review, "calc.py", LINES);
    expect(lenses.map((l) => [l.line, l.title])).toEqual([
      [0, "$(check) Accept file"],
      [0, "$(close) Reject file"],
      [0, "$(check-all) Accept branch"],
      [0, "$(close-all) Reject branch"],
      [1, "$(check) Accept hunk"],
      [1, "$(close) Reject hunk"],
      [1, "$(comment) Comment"],
      [16, "$(check) Accept hunk"],
      [16, "$(close) Reject hunk"],
      [16, "$(comment) Comment"],
    ]);
    const accept = lenses.find((l) => l.line === 16 && l.command === ReviewCommands.acceptHunk)!;
    expect(accept.args).toEqual([{ beadId: "gt-b1", path: "calc.py", hunkId: CALC_HUNK_TAIL.id, line: 16 }]);
    const file = lenses.find((l) => l.command === ReviewCommands.rejectFile)!;
    expect(file.args).toEqual([{ beadId: "gt-b1", path: "calc.py" }]);
    const branch = lenses.find((l) => l.command === ReviewCommands.acceptBranch)!;
    expect(branch.args).toEqual([{ beadId: "gt-b1" }]);
  });

  it("shows the verdict instead of the buttons once a hunk is decided", () => {
    const review = new BeadReview(diffOf([CALC_FILE]));
    const result: ReviewResult = { bead_id: "gt-b1", status: "review", merged: false, message: "ok", pending_hunks: [CALC_HUNK_TAIL.id] };
    review.record(reviewParams("accept", { beadId: "gt-b1", path: "calc.py", hunkId: CALC_HUNK_IMPORT.id }), result);
    review.record(
      reviewParams("reject", { beadId: "gt-b1", path: "calc.py", hunkId: CALC_HUNK_TAIL.id, line: 20 }, "keep old()"),
      { ...result, status: "in_progress", pending_hunks: [] },
    );
    expect(titles(review)).toEqual([
      [0, "$(pass) File reviewed"],
      [0, "$(pass) Branch reviewed · bead in_progress"],
      [1, "$(pass) Hunk accepted"],
      [16, "$(circle-slash) Hunk rejected: keep old()"],
    ]);
    expect(review.undecided()).toEqual([]);
  });

  it("a file verdict covers the hunks still open and keeps earlier hunk verdicts", () => {
    const review = new BeadReview(diffOf([CALC_FILE]));
    const ok: ReviewResult = { bead_id: "gt-b1", status: "review", merged: false, message: "" };
    review.record(reviewParams("reject", { beadId: "gt-b1", path: "calc.py", hunkId: CALC_HUNK_IMPORT.id }), ok);
    review.record(reviewParams("accept", { beadId: "gt-b1", path: "calc.py" }), ok);
    expect(review.verdicts.get(CALC_HUNK_IMPORT.id)).toBe("rejected");
    expect(review.verdicts.get(CALC_HUNK_TAIL.id)).toBe("accepted");
  });

  it("offers nothing to decide on a merged branch", () => {
    const review = new BeadReview(diffOf([CALC_FILE], { merged: true }));
    const lenses = reviewLenses(review, "calc.py", LINES);
    expect(lenses).toHaveLength(1);
    expect(lenses[0].command).toBeUndefined();
    expect(lenses[0].title).toContain("merged");
    expect(reviewLenses(review, "not/in/diff.py", 3)).toEqual([]);
  });

  it("keeps verdicts of hunks that survive a new diff, drops the others", () => {
    const review = new BeadReview(diffOf([CALC_FILE]));
    const ok: ReviewResult = { bead_id: "gt-b1", status: "review", merged: false, message: "" };
    review.record(reviewParams("accept", { beadId: "gt-b1", path: "calc.py", hunkId: CALC_HUNK_IMPORT.id }), ok);
    review.record(reviewParams("reject", { beadId: "gt-b1", path: "calc.py", hunkId: CALC_HUNK_TAIL.id }, "no"), ok);
    review.replaceDiff(diffOf([{ ...CALC_FILE, hunks: [CALC_HUNK_IMPORT, { ...CALC_HUNK_TAIL, id: "reworked" }] }]));
    expect([...review.verdicts.keys()]).toEqual([CALC_HUNK_IMPORT.id]);
    expect(review.comments.size).toBe(0);
    expect(review.undecided()).toEqual(["reworked"]);
  });
});

describe("reviewParams and verdictText", () => {
  it("builds hunk, file and branch verdicts with the server's field names", () => {
    expect(reviewParams("accept", { beadId: "b", path: "p.py", hunkId: "h1", line: 3 })).toEqual({
      beadId: "b",
      action: "accept",
      scope: "hunk",
      hunkIds: ["h1"],
      path: "p.py",
    });
    expect(reviewParams("reject", { beadId: "b", path: "p.py", hunkId: "h1", line: 3 }, "  why  ")).toEqual({
      beadId: "b",
      action: "reject",
      scope: "hunk",
      hunkIds: ["h1"],
      path: "p.py",
      comment: "why",
      line: 3,
    });
    expect(reviewParams("reject", { beadId: "b", path: "p.py" }, "")).toEqual({
      beadId: "b",
      action: "reject",
      scope: "file",
      path: "p.py",
    });
    expect(reviewParams("accept", { beadId: "b" })).toEqual({ beadId: "b", action: "accept", scope: "branch" });
  });

  it("says what was decided and what is left", () => {
    const params: ReviewParams = { beadId: "b", action: "accept", scope: "hunk", hunkIds: ["h"], path: "p.py" };
    const text = verdictText(params, { bead_id: "b", status: "review", merged: true, pending_hunks: ["x", "y"], message: "cherry-picked" });
    expect(text).toBe("b: accepted 1 hunk of p.py → review (merged) · 2 hunks still to review. cherry-picked");
  });
});

describe("ReviewController (vscode stub)", () => {
  beforeEach(() => recorded.reset());

  function setup(result: Partial<ReviewResult> = {}) {
    const review = vi.fn(
      async (p: ReviewParams): Promise<ReviewResult> => ({
        bead_id: p.beadId,
        status: p.action === "reject" ? "in_progress" : "review",
        merged: p.action === "accept",
        pending_hunks: [],
        message: "recorded",
        ...result,
      }),
    );
    const api = {
      diff: vi.fn(async () => diffOf([CALC_FILE, NEW_FILE])),
      document: vi.fn(async ({ side }: { side: string }) => ({ text: side === "head" ? CALC_HEAD : "", exists: true })),
      review,
    } as unknown as TownApi;
    const output = { appendLine: vi.fn() } as never;
    const controller = new ReviewController(async () => api, output);
    return { controller, api, review };
  }

  const headDoc = (path = "calc.py") => ({
    uri: reviewUri({ beadId: "gt-b1", path, side: "head", rev: "c0ffee000000" }),
    lineCount: LINES,
    lineAt: (n: number) => ({ text: CALC_HEAD.split("\n")[n] ?? "" }),
  });

  it("serves both sides through gastown/document", async () => {
    const { controller, api } = setup();
    const text = await controller.provideTextDocumentContent(headDoc().uri as never);
    expect(text).toBe(CALC_HEAD);
    expect(api.document).toHaveBeenCalledWith({ beadId: "gt-b1", path: "calc.py", side: "head" });
  });

  it("opens one diff editor per file, base on the left, head on the right", async () => {
    const { controller } = setup();
    await controller.openDiff("gt-b1");
    const diffs = recorded.executed.filter((e) => e.command === "vscode.diff");
    expect(diffs).toHaveLength(2);
    const last = diffs[diffs.length - 1].args as [Uri, Uri, string];
    expect(parseReviewUri(last[0])).toMatchObject({ path: "calc.py", side: "base" });
    expect(parseReviewUri(last[1])).toMatchObject({ path: "calc.py", side: "head" });
  });

  it("lenses the head side only, fetching the diff on demand", async () => {
    const { controller, api } = setup();
    const lenses = await controller.provideCodeLenses(headDoc() as never);
    expect(api.diff).toHaveBeenCalledWith({ beadId: "gt-b1" });
    expect(lenses.filter((l) => l.command?.command === ReviewCommands.acceptHunk)).toHaveLength(2);
    const base = { ...headDoc(), uri: reviewUri({ beadId: "gt-b1", path: "calc.py", side: "base" }) };
    expect(await controller.provideCodeLenses(base as never)).toEqual([]);
  });

  it("warns on a head document of an older revision", async () => {
    const { controller } = setup();
    const old = { ...headDoc(), uri: reviewUri({ beadId: "gt-b1", path: "calc.py", side: "head", rev: "deadbeef" }) };
    const lenses = await controller.provideCodeLenses(old as never);
    expect(lenses).toHaveLength(1);
    expect(lenses[0].command?.title).toContain("older revision");
  });

  it("accepts a hunk from its lens and rejects another with the typed comment", async () => {
    const { controller, review } = setup();
    await controller.provideCodeLenses(headDoc() as never);
    await recorded.commands.get(ReviewCommands.acceptHunk)!({ beadId: "gt-b1", path: "calc.py", hunkId: CALC_HUNK_IMPORT.id, line: 1 });
    recorded.inputBoxAnswers.push("keep old(): callers still use it");
    await recorded.commands.get(ReviewCommands.rejectHunk)!({ beadId: "gt-b1", path: "calc.py", hunkId: CALC_HUNK_TAIL.id, line: 16 });
    expect(review.mock.calls.map((c) => c[0])).toEqual([
      { beadId: "gt-b1", action: "accept", scope: "hunk", hunkIds: [CALC_HUNK_IMPORT.id], path: "calc.py" },
      {
        beadId: "gt-b1",
        action: "reject",
        scope: "hunk",
        hunkIds: [CALC_HUNK_TAIL.id],
        path: "calc.py",
        comment: "keep old(): callers still use it",
        line: 16,
      },
    ]);
    const lenses = await controller.provideCodeLenses(headDoc() as never);
    expect(lenses.map((l) => l.command?.title)).toContain("$(pass) Hunk accepted");
  });

  it("sends nothing when the rejection's comment box is dismissed", async () => {
    const { controller, review } = setup();
    await controller.provideCodeLenses(headDoc() as never);
    recorded.inputBoxAnswers.push(undefined);
    await recorded.commands.get(ReviewCommands.rejectFile)!({ beadId: "gt-b1", path: "calc.py" });
    expect(review).not.toHaveBeenCalled();
  });

  it("turns a comment on a line into a rejection of the hunk containing it", async () => {
    const { controller, review } = setup();
    await controller.provideCodeLenses(headDoc() as never);
    // The "Comment" lens opens a thread on the hunk's first changed line...
    await recorded.commands.get(ReviewCommands.commentHunk)!({ beadId: "gt-b1", path: "calc.py", hunkId: CALC_HUNK_TAIL.id, line: 16 });
    const thread = recorded.commentThreads[0];
    expect(thread.range.start.line).toBe(16);
    // ...and the widget's button submits the typed text. A comment on line 20 works the same way.
    const other = { uri: headDoc().uri, range: { start: { line: 20 } }, comments: [] as unknown[] };
    const result = await recorded.commands.get(SUBMIT_COMMENT)!({ thread: other, text: "divide by zero must raise" });
    expect(result).toMatchObject({ status: "in_progress" });
    expect(review).toHaveBeenLastCalledWith({
      beadId: "gt-b1",
      action: "reject",
      scope: "hunk",
      hunkIds: [CALC_HUNK_TAIL.id],
      path: "calc.py",
      comment: "divide by zero must raise",
      line: 20,
    });
    expect(other.comments).toHaveLength(1);
    expect((other as { canReply?: boolean }).canReply).toBe(false);
  });

  it("keeps the thread open when the server refuses the verdict", async () => {
    const { controller, review } = setup();
    review.mockRejectedValueOnce(new Error("MethodNotFound"));
    await controller.provideCodeLenses(headDoc() as never);
    const thread = { uri: headDoc().uri, range: { start: { line: 1 } }, comments: [] as unknown[] };
    expect(await controller.submitComment({ thread, text: "no" } as never)).toBeUndefined();
    expect(thread.comments).toHaveLength(0);
    expect(recorded.messages.at(-1)?.level).toBe("error");
  });

  it("keeps the verdicts shown while the bead is reworked, and starts over on the new revision", async () => {
    const { controller, api } = setup();
    await controller.provideCodeLenses(headDoc() as never);
    recorded.inputBoxAnswers.push("no");
    await recorded.commands.get(ReviewCommands.rejectHunk)!({ beadId: "gt-b1", path: "calc.py", hunkId: CALC_HUNK_TAIL.id, line: 16 });
    controller.markStale("gt-b1"); // the delta that puts the bead back in progress
    const old = await controller.provideCodeLenses(headDoc() as never);
    expect(old.map((l) => l.command?.title)).toContain("$(circle-slash) Hunk rejected: no");
    // The reworked branch: a new head. Opening it starts a fresh review; the old documents say so.
    (api.diff as ReturnType<typeof vi.fn>).mockResolvedValueOnce(diffOf([CALC_FILE], { head: "beef".padEnd(40, "0") }));
    await controller.openDiff("gt-b1");
    expect(controller.review("gt-b1")?.undecided()).toHaveLength(2);
    const stale = await controller.provideCodeLenses(headDoc() as never);
    expect(stale[0].command?.title).toContain("older revision");
    const titles = recorded.executed.filter((e) => e.command === "vscode.diff").map((e) => e.args[2]);
    expect(titles.at(-1)).toBe("calc.py (gt-b1 @ beef000)");
  });
});


describe("plan approval", () => {
  it("offers only drafted epics", async () => {
    const { isDraftEpic } = await import("../src/commandArgs");
    const base = { title: "t", priority: 2 };
    expect(isDraftEpic({ ...base, id: "gt-1", status: "draft", issue_type: "epic" })).toBe(true);
    expect(isDraftEpic({ ...base, id: "gt-1.1", status: "draft", issue_type: "task" })).toBe(false);
    expect(isDraftEpic({ ...base, id: "gt-2", status: "open", issue_type: "epic" })).toBe(false);
  });
});
