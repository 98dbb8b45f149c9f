// Hunk mapping: where each hunk of gastown/diff sits on the head side (0-based editor lines).
import { describe, expect, it } from "vitest";
import type { Hunk } from "../src/protocol";
import { commentingRanges, headSpan, headSpans, hunkAtLine } from "../src/review/hunks";
import { CALC_FILE, CALC_HEAD, CALC_HUNK_IMPORT, CALC_HUNK_TAIL, DELETED_FILE, NEW_FILE } from "./diffFixtures";

const headLines = CALC_HEAD.split("\n");

describe("headSpan", () => {
  it("maps a hunk with one added line: range with context, anchor on the added line", () => {
    const span = headSpan(CALC_HUNK_IMPORT);
    expect([span.start, span.end]).toEqual([0, 4]);
    expect(span.anchor).toBe(1);
    expect(span.added).toEqual([1]);
    expect(span.removed).toBe(0);
    expect(headLines[span.anchor]).toBe("import sys");
  });

  it("maps a hunk that removes then adds: the anchor is where the removed text stood", () => {
    const span = headSpan(CALC_HUNK_TAIL);
    expect([span.start, span.end]).toEqual([13, 21]);
    expect(span.removed).toBe(4);
    expect(headLines[span.anchor]).toBe("def tail():");
    expect(span.added.map((l) => headLines[l])).toEqual(["", "", "def div(a, b):", "    return a / b"]);
  });

  it("every added line of the real diff is the head document's text at that line", () => {
    for (const hunk of CALC_FILE.hunks!) {
      const span = headSpan(hunk);
      const plus = hunk.lines.filter((l) => l.startsWith("+")).map((l) => l.slice(1));
      expect(span.added.map((l) => headLines[l])).toEqual(plus);
      // Context lines too: walking the hunk reproduces the head text.
      const head = hunk.lines.filter((l) => !l.startsWith("-")).map((l) => l.slice(1));
      expect(headLines.slice(span.start, span.end + 1)).toEqual(head);
    }
  });

  it("maps a new file from line 0 and a deleted file to an empty head", () => {
    const added = headSpan(NEW_FILE.hunks![0]);
    expect([added.start, added.end, added.anchor]).toEqual([0, 2, 0]);
    const deleted = headSpan(DELETED_FILE.hunks![0], 1);
    expect(deleted.end).toBeLessThan(deleted.start); // no head lines
    expect(deleted.anchor).toBe(0);
    expect(deleted.removed).toBe(2);
  });

  it("puts a pure deletion (no context) after head line N, clamped to the document", () => {
    const hunk: Hunk = { id: "x", header: "@@ -5,2 +4,0 @@", old_start: 5, old_lines: 2, new_start: 4, new_lines: 0, lines: ["-a", "-b"] };
    expect(headSpan(hunk).anchor).toBe(4);
    expect(headSpan(hunk, 3).anchor).toBe(2); // a 3-line document: the last line
  });

  it("ignores '\\ No newline at end of file' markers", () => {
    const hunk: Hunk = {
      id: "n",
      header: "@@ -1 +1 @@",
      old_start: 1,
      old_lines: 1,
      new_start: 1,
      new_lines: 1,
      lines: ["-old", "\\ No newline at end of file", "+new", "\\ No newline at end of file"],
    };
    const span = headSpan(hunk);
    expect(span.added).toEqual([0]);
    expect([span.start, span.end]).toEqual([0, 0]);
  });
});

describe("hunkAtLine", () => {
  const spans = headSpans(CALC_FILE.hunks);

  it("finds the hunk whose lines contain the line, context included", () => {
    expect(hunkAtLine(spans, 1)?.hunk.id).toBe(CALC_HUNK_IMPORT.id);
    expect(hunkAtLine(spans, 4)?.hunk.id).toBe(CALC_HUNK_IMPORT.id);
    expect(hunkAtLine(spans, 20)?.hunk.id).toBe(CALC_HUNK_TAIL.id);
    expect(hunkAtLine(spans, 13)?.hunk.id).toBe(CALC_HUNK_TAIL.id);
  });

  it("finds nothing between hunks unless within the slack", () => {
    expect(hunkAtLine(spans, 8)).toBeUndefined();
    expect(hunkAtLine(spans, 6, 2)?.hunk.id).toBe(CALC_HUNK_IMPORT.id);
    expect(hunkAtLine(spans, 11, 2)?.hunk.id).toBe(CALC_HUNK_TAIL.id);
  });

  it("sorts spans by position whatever order the hunks came in", () => {
    expect(headSpans([CALC_HUNK_TAIL, CALC_HUNK_IMPORT]).map((s) => s.hunk.id)).toEqual([
      CALC_HUNK_IMPORT.id,
      CALC_HUNK_TAIL.id,
    ]);
    expect(headSpans(undefined)).toEqual([]);
  });
});

describe("commentingRanges", () => {
  it("offers each hunk's head lines, and nothing for a deleted file", () => {
    expect(commentingRanges(headSpans(CALC_FILE.hunks))).toEqual([
      [0, 4],
      [13, 21],
    ]);
    expect(commentingRanges(headSpans(DELETED_FILE.hunks))).toEqual([]);
  });
});
