// Read-only documents: a bead as Markdown (`gastown-bead:/<id>.md`, from gastown/bead) and an agent's
// event log (`gastown-log:/<agent>.log`, from the gastown/agentEvent stream). Both refresh while open.
import * as vscode from "vscode";
import type { TownApi } from "../client";
import type { AgentEventNote } from "../protocol";
import { AgentLogs, beadMarkdown } from "./text";

export const BEAD_SCHEME = "gastown-bead";
export const LOG_SCHEME = "gastown-log";

export function beadUri(id: string): vscode.Uri {
  return vscode.Uri.from({ scheme: BEAD_SCHEME, path: `/${id}.md` });
}

export function logUri(agent: string): vscode.Uri {
  return vscode.Uri.from({ scheme: LOG_SCHEME, path: `/${agent}.log` });
}

const idOf = (uri: vscode.Uri, ext: string) => uri.path.replace(/^\/+/, "").replace(new RegExp(`\\${ext}$`), "");

export class BeadDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  /** Ids of the beads whose page is open. */
  private readonly rendered = new Set<string>();

  constructor(private readonly town: () => Promise<TownApi>) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const id = idOf(uri, ".md");
    try {
      const { bead } = await (await this.town()).bead({ id });
      this.rendered.add(id);
      return beadMarkdown(bead);
    } catch (err) {
      return `# ${id}\n\nNot available: ${err instanceof Error ? err.message : String(err)}\n`;
    }
  }

  /** A bead changed (it is in a delta): refresh its page if it is open. */
  beadChanged(id: string): void {
    if (this.rendered.has(id)) this.changed.fire(beadUri(id));
  }

  forget(uri: vscode.Uri): void {
    if (uri.scheme === BEAD_SCHEME) this.rendered.delete(idOf(uri, ".md"));
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export class AgentLogDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  readonly logs = new AgentLogs();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly dirty = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.logs.text(idOf(uri, ".log"));
  }

  add(note: AgentEventNote): void {
    this.logs.add(note);
    this.dirty.add(note.agent);
    // Coalesced: a streaming agent sends many events a second.
    this.timer ??= setTimeout(() => this.flush(), 250);
  }

  private flush(): void {
    this.timer = undefined;
    const open = new Set(
      vscode.workspace.textDocuments.filter((d) => d.uri.scheme === LOG_SCHEME).map((d) => idOf(d.uri, ".log")),
    );
    for (const agent of this.dirty) if (open.has(agent)) this.changed.fire(logUri(agent));
    this.dirty.clear();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}
