// Review state and code lenses, without VS Code: the `gastown-review:` URIs that name one side of a
// bead's file, the Overseer's verdicts so far, and which lenses the head side of a review document shows.
import type { DiffResult, FileDiff, ReviewParams, ReviewResult } from "../protocol";
import { type HeadSpan, headSpans } from "./hunks";

export const REVIEW_SCHEME = "gastown-review";
export type Side = "base" | "head";

/** What a review document is: one side of one file of one bead's branch. */
export interface ReviewDoc {
  beadId: string;
  path: string;
  side: Side;
  /** The branch head the document was opened at (so a reworked branch opens as new documents). */
  rev?: string;
}

/** The URI parts (path and query) of a review document; the path keeps the file name for the tab title. */
export function reviewUriParts(doc: ReviewDoc): { path: string; query: string } {
  const fields: Record<string, string> = { bead: doc.beadId, side: doc.side };
  if (doc.rev) fields.rev = doc.rev;
  const query = new URLSearchParams(fields).toString();
  return { path: `/${doc.path.replace(/^\/+/, "")}`, query };
}

/** The review document a URI names, or undefined for any other URI. */
export function parseReviewUri(uri: { scheme: string; path: string; query: string }): ReviewDoc | undefined {
  if (uri.scheme !== REVIEW_SCHEME) return undefined;
  const q = new URLSearchParams(uri.query);
  const beadId = q.get("bead");
  const side = q.get("side");
  const path = uri.path.replace(/^\/+/, "");
  if (!beadId || !path || (side !== "base" && side !== "head")) return undefined;
  const rev = q.get("rev");
  return rev ? { beadId, path, side, rev } : { beadId, path, side };
}

export type Verdict = "accepted" | "rejected";

/** One bead under review: its diff and the verdicts given from this editor. */
export class BeadReview {
  /** Hunk id -> verdict given here (the server's pending list says what is still open). */
  readonly verdicts = new Map<string, Verdict>();
  /** Rejection comments by hunk id, shown on the lens. */
  readonly comments = new Map<string, string>();
  /** The status the server last reported for the bead (after a verdict). */
  status: string | undefined;
  message: string | undefined;
  /** The bead went back to work since: the next look fetches a fresh diff. */
  stale = false;

  constructor(public diff: DiffResult) {}

  get beadId(): string {
    return this.diff.bead_id;
  }

  file(path: string): FileDiff | undefined {
    return this.diff.files.find((f) => f.path === path);
  }

  /** All hunk ids of the branch, or of one file. */
  hunkIds(path?: string): string[] {
    const files = path === undefined ? this.diff.files : this.diff.files.filter((f) => f.path === path);
    return files.flatMap((f) => (f.hunks ?? []).map((h) => h.id));
  }

  /** A fresh diff from the server (after rework the hunks change): keep verdicts for hunks still there. */
  replaceDiff(diff: DiffResult): void {
    this.diff = diff;
    const ids = new Set(this.hunkIds());
    for (const id of [...this.verdicts.keys()]) if (!ids.has(id)) this.verdicts.delete(id);
    for (const id of [...this.comments.keys()]) if (!ids.has(id)) this.comments.delete(id);
  }

  /** Record a verdict the server accepted: the hunks it named, then whatever the server says is pending. */
  record(params: ReviewParams, result: ReviewResult): void {
    const verdict: Verdict = params.action === "accept" ? "accepted" : "rejected";
    const ids =
      params.scope === "hunk"
        ? (params.hunkIds ?? [])
        : params.scope === "file"
          ? this.hunkIds(params.path ?? undefined)
          : this.hunkIds();
    for (const id of ids) {
      // A file or branch verdict covers the hunks still open; earlier hunk verdicts stand.
      if (params.scope !== "hunk" && this.verdicts.has(id)) continue;
      this.verdicts.set(id, verdict);
      if (verdict === "rejected" && params.comment) this.comments.set(id, params.comment);
    }
    this.status = result.status;
    this.message = result.message;
  }

  /** Hunks with no verdict yet. */
  undecided(path?: string): string[] {
    return this.hunkIds(path).filter((id) => !this.verdicts.has(id));
  }
}

/** Command ids the lenses run (registered by review/review.ts). */
export const ReviewCommands = {
  acceptHunk: "gastown.review.acceptHunk",
  rejectHunk: "gastown.review.rejectHunk",
  commentHunk: "gastown.review.commentHunk",
  acceptFile: "gastown.review.acceptFile",
  rejectFile: "gastown.review.rejectFile",
  acceptBranch: "gastown.review.acceptBranch",
  rejectBranch: "gastown.review.rejectBranch",
} as const;

/** Arguments every review command takes (from a lens, a menu or a test). */
export interface ReviewTarget {
  beadId: string;
  path?: string;
  hunkId?: string;
  /** Head-side line (0-based), for a comment. */
  line?: number;
}

export interface LensSpec {
  line: number;
  title: string;
  /** Undefined: an informational lens (shown as plain text). */
  command?: string;
  args?: ReviewTarget[];
  tooltip?: string;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/**
 * The lenses over the head side of one file: at the top, whole-file and whole-branch verdicts; over
 * each hunk's first changed line, "Accept hunk · Reject hunk · Comment" (or its verdict once given).
 */
export function reviewLenses(review: BeadReview, path: string, lineCount: number): LensSpec[] {
  const diff = review.diff;
  const file = review.file(path);
  if (!file) return [];
  const beadId = diff.bead_id;
  if (diff.merged) {
    return [{ line: 0, title: `$(git-merge) ${diff.branch} is merged into the integration branch` }];
  }
  const spans = headSpans(file.hunks, lineCount);
  const lenses: LensSpec[] = [];
  const fileOpen = review.undecided(path).length;
  const branchOpen = review.undecided().length;
  if (fileOpen > 0) {
    lenses.push(
      {
        line: 0,
        title: "$(check) Accept file",
        command: ReviewCommands.acceptFile,
        args: [{ beadId, path }],
        tooltip: `Accept every remaining hunk of ${path} (${plural(fileOpen, "hunk")})`,
      },
      {
        line: 0,
        title: "$(close) Reject file",
        command: ReviewCommands.rejectFile,
        args: [{ beadId, path }],
        tooltip: `Reject ${path} and send it back to the polecat`,
      },
    );
  } else {
    lenses.push({ line: 0, title: "$(pass) File reviewed" });
  }
  if (branchOpen > 0) {
    lenses.push(
      {
        line: 0,
        title: "$(check-all) Accept branch",
        command: ReviewCommands.acceptBranch,
        args: [{ beadId }],
        tooltip: `Accept all of ${diff.branch} (${plural(diff.files.length, "file")}, ${plural(branchOpen, "hunk")} open)`,
      },
      {
        line: 0,
        title: "$(close-all) Reject branch",
        command: ReviewCommands.rejectBranch,
        args: [{ beadId }],
        tooltip: `Reject all of ${diff.branch} and send the bead back to its polecat`,
      },
    );
  } else {
    lenses.push({ line: 0, title: `$(pass) Branch reviewed${review.status ? ` · bead ${review.status}` : ""}` });
  }
  for (const span of spans) lenses.push(...hunkLenses(review, path, span));
  return lenses;
}

function hunkLenses(review: BeadReview, path: string, span: HeadSpan): LensSpec[] {
  const beadId = review.beadId;
  const id = span.hunk.id;
  const line = span.anchor;
  const what = `${span.added.length ? `+${span.added.length}` : ""}${span.removed ? ` -${span.removed}` : ""}`.trim();
  const verdict = review.verdicts.get(id);
  if (verdict === "accepted") return [{ line, title: "$(pass) Hunk accepted", tooltip: span.hunk.header }];
  if (verdict === "rejected") {
    const comment = review.comments.get(id);
    return [{ line, title: `$(circle-slash) Hunk rejected${comment ? `: ${truncate(comment, 60)}` : ""}` }];
  }
  const target: ReviewTarget = { beadId, path, hunkId: id, line };
  return [
    {
      line,
      title: "$(check) Accept hunk",
      command: ReviewCommands.acceptHunk,
      args: [target],
      tooltip: `${span.hunk.header} (${what})`,
    },
    { line, title: "$(close) Reject hunk", command: ReviewCommands.rejectHunk, args: [target] },
    { line, title: "$(comment) Comment", command: ReviewCommands.commentHunk, args: [target] },
  ];
}

function truncate(text: string, n: number): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

/** The review request a verdict sends. */
export function reviewParams(
  action: "accept" | "reject",
  target: ReviewTarget,
  comment?: string,
): ReviewParams {
  const params: ReviewParams = { beadId: target.beadId, action, scope: "branch" };
  if (target.hunkId) {
    params.scope = "hunk";
    params.hunkIds = [target.hunkId];
  } else if (target.path) {
    params.scope = "file";
  }
  if (target.path) params.path = target.path;
  if (comment && comment.trim()) params.comment = comment.trim();
  if (target.line !== undefined && comment) params.line = target.line;
  return params;
}

/** A one-line account of a verdict for the Overseer. */
export function verdictText(params: ReviewParams, result: ReviewResult): string {
  const what =
    params.scope === "hunk"
      ? `${plural(params.hunkIds?.length ?? 0, "hunk")} of ${params.path}`
      : params.scope === "file"
        ? (params.path ?? "the file")
        : "the branch";
  const verb = params.action === "accept" ? "accepted" : "rejected";
  const pending = result.pending_hunks?.length ?? 0;
  const tail = pending ? ` · ${plural(pending, "hunk")} still to review` : "";
  return `${result.bead_id}: ${verb} ${what} → ${result.status}${result.merged ? " (merged)" : ""}${tail}. ${result.message}`.trim();
}
