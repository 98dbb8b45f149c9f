// Inline review of a bead's branch in VS Code's diff editor: both sides are read-only `gastown-review:`
// documents served by gastown/document; code lenses on the head side accept or reject a hunk, a file or
// the whole branch; a comment on a line (the Comments API) rejects its hunk with that comment, which the
// server hands back to the polecat as rework. Every verdict is one gastown/review request.
import * as vscode from "vscode";
import type { TownApi } from "../client";
import type { DiffResult, ReviewParams, ReviewResult } from "../protocol";
import { errorText } from "../errors";
import { commentingRanges, headSpans, hunkAtLine } from "./hunks";
import {
  BeadReview,
  parseReviewUri,
  REVIEW_SCHEME,
  ReviewCommands,
  type ReviewDoc,
  type ReviewTarget,
  reviewLenses,
  reviewParams,
  reviewUriParts,
  verdictText,
} from "./model";

export const COMMENT_CONTROLLER_ID = "gastown-review";
export const SUBMIT_COMMENT = "gastown.review.submitComment";
export const CANCEL_COMMENT = "gastown.review.cancelComment";

export function reviewUri(doc: ReviewDoc): vscode.Uri {
  const { path, query } = reviewUriParts(doc);
  return vscode.Uri.from({ scheme: REVIEW_SCHEME, path, query });
}

class OverseerComment implements vscode.Comment {
  mode = vscode.CommentMode.Preview;
  author = { name: "Overseer" };
  constructor(
    public body: string,
    public label?: string,
  ) {}
}

export class ReviewController
  implements vscode.TextDocumentContentProvider, vscode.CodeLensProvider, vscode.Disposable
{
  private readonly reviews = new Map<string, BeadReview>();
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  private readonly docsChanged = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.docsChanged.event;
  private readonly comments: vscode.CommentController;
  private readonly disposables: vscode.Disposable[] = [];
  /** Verdicts sent, in order (for the log and tests). */
  readonly sent: Array<{ params: ReviewParams; result: ReviewResult }> = [];

  constructor(
    private readonly town: () => Promise<TownApi>,
    private readonly output: vscode.OutputChannel,
    private readonly next?: () => Promise<unknown>,
  ) {
    this.comments = vscode.comments.createCommentController(COMMENT_CONTROLLER_ID, "Gas Town Review");
    this.comments.options = {
      prompt: "Request a change on this line (goes to the polecat as rework)",
      placeHolder: "What should the polecat change here?",
    };
    this.comments.commentingRangeProvider = {
      provideCommentingRanges: (document) => this.commentingRanges(document),
    };
    this.disposables.push(
      this.comments,
      vscode.workspace.registerTextDocumentContentProvider(REVIEW_SCHEME, this),
      vscode.languages.registerCodeLensProvider({ scheme: REVIEW_SCHEME }, this),
      vscode.commands.registerCommand(ReviewCommands.acceptHunk, (t?: unknown) => this.verdict("accept", "hunk", t)),
      vscode.commands.registerCommand(ReviewCommands.rejectHunk, (t?: unknown) => this.verdict("reject", "hunk", t)),
      vscode.commands.registerCommand(ReviewCommands.commentHunk, (t?: unknown) => this.startComment(t)),
      vscode.commands.registerCommand(ReviewCommands.acceptFile, (t?: unknown) => this.verdict("accept", "file", t)),
      vscode.commands.registerCommand(ReviewCommands.rejectFile, (t?: unknown) => this.verdict("reject", "file", t)),
      vscode.commands.registerCommand(ReviewCommands.acceptBranch, (t?: unknown) => this.verdict("accept", "branch", t)),
      vscode.commands.registerCommand(ReviewCommands.rejectBranch, (t?: unknown) => this.verdict("reject", "branch", t)),
      vscode.commands.registerCommand(SUBMIT_COMMENT, (reply: vscode.CommentReply) => this.submitComment(reply)),
      vscode.commands.registerCommand(CANCEL_COMMENT, (arg: vscode.CommentReply | vscode.CommentThread) =>
        ("thread" in arg ? arg.thread : arg).dispose(),
      ),
    );
  }

  review(beadId: string): BeadReview | undefined {
    return this.reviews.get(beadId);
  }

  /**
   * A bead went back to work: its diff will change. The review is kept (open documents still show the
   * verdicts given) but the next look at the bead fetches a fresh diff and starts a new review.
   */
  markStale(beadId: string): void {
    const review = this.reviews.get(beadId);
    if (review) review.stale = true;
  }

  private async fetch(beadId: string): Promise<BeadReview> {
    const diff: DiffResult = await (await this.town()).diff({ beadId });
    const known = this.reviews.get(beadId);
    if (known && !known.stale && known.diff.head === diff.head) {
      known.replaceDiff(diff);
      return known;
    }
    const review = new BeadReview(diff);
    this.reviews.set(beadId, review);
    this.lensesChanged.fire();
    return review;
  }

  /** Open a bead's branch: one diff editor (base ↔ head) per file. Returns the diff. */
  async openDiff(beadId: string): Promise<DiffResult | undefined> {
    const known = this.reviews.get(beadId);
    const review = await this.fetch(beadId);
    if (known && known !== review) this.lensesChanged.fire();
    const diff = review.diff;
    const files = diff.files.filter((f) => !f.binary);
    if (diff.files.length === 0) {
      void vscode.window.showInformationMessage(`Gas Town: ${diff.branch} changes nothing against its base.`);
      return diff;
    }
    const rev = diff.head.slice(0, 12);
    // Open the others first so that the first file ends up in front.
    for (const file of [...files.slice(1), ...files.slice(0, 1)]) {
      const base = reviewUri({ beadId, path: file.old_path ?? file.path, side: "base", rev });
      const head = reviewUri({ beadId, path: file.path, side: "head", rev });
      const what = file.status === "added" ? " — new file" : file.status === "deleted" ? " — deleted" : "";
      const title = `${file.path} (${beadId} @ ${diff.head.slice(0, 7)}${diff.merged ? ", merged" : ""})${what}`;
      await vscode.commands.executeCommand("vscode.diff", base, head, title, { preview: false });
    }
    const binary = diff.files.length - files.length;
    this.output.appendLine(
      `diff ${beadId}: ${diff.files.length} file(s), ${review.hunkIds().length} hunk(s), ${diff.merged ? "merged" : "not merged"}${binary ? `, ${binary} binary not shown` : ""}`,
    );
    return diff;
  }

  // --- documents and lenses ------------------------------------------------------------------------

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const doc = parseReviewUri(uri);
    if (!doc) return "";
    const api = await this.town();
    const answer = await api.document({ beadId: doc.beadId, path: doc.path, side: doc.side });
    return answer.text;
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const doc = parseReviewUri(document.uri);
    if (!doc || doc.side !== "head") return [];
    let review = this.reviews.get(doc.beadId);
    if (!review) {
      try {
        review = await this.fetch(doc.beadId);
      } catch (err) {
        this.output.appendLine(`diff ${doc.beadId}: ${errorText(err)}`);
        return [];
      }
    }
    if (doc.rev && !review.diff.head.startsWith(doc.rev)) {
      const lens = new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), {
        title: "$(warning) This is an older revision of the branch: open the bead's diff again",
        command: "",
      });
      return [lens];
    }
    return reviewLenses(review, doc.path, document.lineCount).map((spec) => {
      const range = new vscode.Range(spec.line, 0, spec.line, 0);
      return new vscode.CodeLens(range, {
        title: spec.title,
        command: spec.command ?? "",
        arguments: spec.args,
        tooltip: spec.tooltip,
      });
    });
  }

  private commentingRanges(document: vscode.TextDocument): vscode.Range[] {
    const doc = parseReviewUri(document.uri);
    if (!doc || doc.side !== "head") return [];
    const review = this.reviews.get(doc.beadId);
    const file = review?.file(doc.path);
    if (!review || !file || review.diff.merged) return [];
    const open = new Set(review.undecided(doc.path));
    const spans = headSpans(file.hunks, document.lineCount).filter((s) => open.has(s.hunk.id));
    return commentingRanges(spans).map(([start, end]) => {
      const last = Math.min(end, document.lineCount - 1);
      return new vscode.Range(start, 0, last, document.lineAt(Math.max(0, last)).text.length);
    });
  }

  // --- verdicts ----------------------------------------------------------------------------------

  /** The target of a command: its argument (from a lens), a URI (editor title), or the cursor. */
  private target(arg: unknown, scope: "hunk" | "file" | "branch"): ReviewTarget | undefined {
    if (arg && typeof arg === "object" && "beadId" in arg) return arg as ReviewTarget;
    let uri: vscode.Uri | undefined;
    let line: number | undefined;
    if (arg instanceof vscode.Uri) uri = arg;
    const editor = vscode.window.activeTextEditor;
    if (!uri && editor) uri = editor.document.uri;
    if (editor && uri && editor.document.uri.toString() === uri.toString()) line = editor.selection.active.line;
    const doc = uri && parseReviewUri(uri);
    if (!doc) return undefined;
    if (scope === "branch") return { beadId: doc.beadId };
    if (scope === "file") return { beadId: doc.beadId, path: doc.path };
    const file = this.reviews.get(doc.beadId)?.file(doc.path);
    const span = file && line !== undefined ? hunkAtLine(headSpans(file.hunks), line, 3) : undefined;
    return span ? { beadId: doc.beadId, path: doc.path, hunkId: span.hunk.id, line } : undefined;
  }

  private async verdict(action: "accept" | "reject", scope: "hunk" | "file" | "branch", arg: unknown) {
    const target = this.target(arg, scope);
    if (!target) {
      void vscode.window.showWarningMessage(
        scope === "hunk"
          ? "Gas Town: put the cursor in a hunk of a bead's diff (the right-hand side)."
          : "Gas Town: open a bead's diff first (Gas Town: Review Next Diff).",
      );
      return undefined;
    }
    let comment: string | undefined;
    if (action === "reject") {
      const what = scope === "hunk" ? "this hunk" : scope === "file" ? target.path : `the whole branch of ${target.beadId}`;
      comment = await vscode.window.showInputBox({
        title: `Gas Town: reject ${what}`,
        prompt: "Why? The comment goes back to the polecat as rework (empty: just leave it out).",
        placeHolder: "e.g. keep the old name; rename only the parameter",
        ignoreFocusOut: true,
      });
      if (comment === undefined) return undefined; // Escape: no verdict
    }
    return this.send(reviewParams(action, target, comment));
  }

  /** Send one verdict; record it; tell the Overseer. Returns the server's answer (undefined on error). */
  async send(params: ReviewParams): Promise<ReviewResult | undefined> {
    let result: ReviewResult;
    try {
      result = await (await this.town()).review(params);
    } catch (err) {
      this.output.appendLine(`review ${JSON.stringify(params)} failed: ${errorText(err)}`);
      void vscode.window.showErrorMessage(`Gas Town: the review was not recorded: ${errorText(err)}`);
      return undefined;
    }
    this.sent.push({ params, result });
    const review = this.reviews.get(params.beadId);
    // One JSON line per verdict, with the hunks' text: the Overseer's record (and the e2e test's evidence).
    const hunks = (params.hunkIds ?? []).flatMap((id) =>
      (review?.diff.files ?? []).flatMap((f) =>
        (f.hunks ?? [])
          .filter((h) => h.id === id)
          .map((h) => ({ id, path: f.path, header: h.header, added: h.lines.filter((l) => l.startsWith("+")).map((l) => l.slice(1)) })),
      ),
    );
    this.output.appendLine(`review-verdict ${JSON.stringify({ params, result, hunks })}`);
    review?.record(params, result);
    this.lensesChanged.fire();
    const text = `Gas Town: ${verdictText(params, result)}`;
    const open = review ? review.undecided().length : (result.pending_hunks?.length ?? 0);
    if (open === 0 && this.next) {
      void vscode.window.showInformationMessage(text, "Review Next Diff").then((pick) => pick && this.next?.());
    } else {
      void vscode.window.showInformationMessage(text);
    }
    return result;
  }

  // --- comments ----------------------------------------------------------------------------------

  /** The "Comment" lens: open a comment thread on the hunk's first changed line. */
  private startComment(arg: unknown): void {
    const target = this.target(arg, "hunk");
    if (!target?.path) return;
    const rev = this.reviews.get(target.beadId)?.diff.head.slice(0, 12);
    const uri = reviewUri({ beadId: target.beadId, path: target.path, side: "head", rev });
    const line = target.line ?? 0;
    const thread = this.comments.createCommentThread(uri, new vscode.Range(line, 0, line, 0), []);
    thread.collapsibleState = vscode.CommentThreadCollapsibleState.Expanded;
    thread.canReply = true;
    thread.label = "Request changes";
  }

  /** The comment widget's "Request Changes" button: reject the hunk under the thread with the text. */
  async submitComment(reply: vscode.CommentReply): Promise<ReviewResult | undefined> {
    const thread = reply.thread;
    const text = reply.text.trim();
    if (!text) return undefined;
    const doc = parseReviewUri(thread.uri);
    if (!doc) return undefined;
    const line = thread.range?.start.line ?? 0;
    const review = this.reviews.get(doc.beadId) ?? (await this.fetch(doc.beadId).catch(() => undefined));
    const file = review?.file(doc.path);
    const span = file ? hunkAtLine(headSpans(file.hunks), line, 3) : undefined;
    const target: ReviewTarget = span
      ? { beadId: doc.beadId, path: doc.path, hunkId: span.hunk.id, line }
      : { beadId: doc.beadId, path: doc.path, line };
    const params = reviewParams("reject", target, text);
    const result = await this.send(params);
    if (result) {
      thread.comments = [...thread.comments, new OverseerComment(text, "sent to the polecat")];
      thread.canReply = false;
      thread.label = `Rework requested (${result.status})`;
      thread.collapsibleState = vscode.CommentThreadCollapsibleState.Expanded;
    }
    return result;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.lensesChanged.dispose();
    this.docsChanged.dispose();
  }
}
