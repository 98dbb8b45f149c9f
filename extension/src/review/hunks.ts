// Hunk mapping, without VS Code: where each hunk of a `gastown/diff` file sits in the head-side document
// (the right side of the diff editor), and which hunk a head-side line belongs to. All lines here are
// 0-based (editor lines); the hunks' `new_start` is 1-based as in a unified diff header.
import type { Hunk } from "../protocol";

export interface HeadSpan {
  hunk: Hunk;
  /** First head-side line of the hunk, context included. */
  start: number;
  /** Last head-side line of the hunk, context included (start - 1 when the hunk has no head lines). */
  end: number;
  /** First changed line: the first '+' line, or for a pure deletion the line now where the text was. */
  anchor: number;
  /** Head-side lines the hunk adds ('+' lines). */
  added: number[];
  /** Lines the hunk removes from the base. */
  removed: number;
}

/** Where one hunk lies on the head side. `lineCount` (of the head document) clamps the anchor. */
export function headSpan(hunk: Hunk, lineCount?: number): HeadSpan {
  // A header "+0,0" (file deleted) or "+N,0" (lines removed after head line N) has no head lines; then
  // the removal sits between head lines N and N+1 (0-based: before line N).
  const start = hunk.new_lines > 0 ? hunk.new_start - 1 : hunk.new_start;
  const added: number[] = [];
  let removed = 0;
  let line = start;
  let firstChange: number | undefined;
  for (const text of hunk.lines) {
    const mark = text[0];
    if (mark === "+") {
      added.push(line);
      firstChange ??= line;
      line++;
    } else if (mark === "-") {
      removed++;
      firstChange ??= line; // the removed text stood just above this head line
    } else if (mark === "\\") {
      // "\ No newline at end of file": not a line of either side
    } else {
      line++; // context (' ', or an empty string for a blank context line some tools trim)
    }
  }
  const end = start + Math.max(0, hunk.new_lines) - 1;
  let anchor = firstChange ?? start;
  if (lineCount !== undefined) anchor = clamp(anchor, 0, Math.max(0, lineCount - 1));
  else anchor = Math.max(0, anchor);
  return { hunk, start, end, anchor, added, removed };
}

/** Every hunk of a file on the head side, in order. */
export function headSpans(hunks: readonly Hunk[] | undefined, lineCount?: number): HeadSpan[] {
  return (hunks ?? []).map((h) => headSpan(h, lineCount)).sort((a, b) => a.start - b.start);
}

/**
 * The hunk a head-side line belongs to: the hunk whose lines (context included) contain it. A line in
 * no hunk's range goes to the nearest hunk within `slack` lines (a comment just under a hunk is about
 * it); otherwise undefined.
 */
export function hunkAtLine(spans: readonly HeadSpan[], line: number, slack = 0): HeadSpan | undefined {
  let best: HeadSpan | undefined;
  let bestDistance = Infinity;
  for (const span of spans) {
    const lo = Math.min(span.start, span.anchor);
    const hi = Math.max(span.end, span.anchor);
    if (line >= lo && line <= hi) return span;
    const distance = line < lo ? lo - line : line - hi;
    if (distance < bestDistance) {
      best = span;
      bestDistance = distance;
    }
  }
  return bestDistance <= slack ? best : undefined;
}

/** Head-side line ranges [start, end] (inclusive) where comments may be made: each hunk with head lines. */
export function commentingRanges(spans: readonly HeadSpan[]): Array<[number, number]> {
  return spans.filter((s) => s.end >= s.start).map((s) => [s.start, s.end]);
}

function clamp(n: number, lo: number, hi: number): number {
  return n < lo ? lo : n > hi ? hi : n;
}
