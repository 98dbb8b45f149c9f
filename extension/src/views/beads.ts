// The Beads view: epics with their tasks under them, fed by gastown/beads and gastown/beadsChanged.
import * as vscode from "vscode";
import type { BeadsChanged, BeadsResult } from "../protocol";
import { type BeadNode, BeadsSync, beadDescription, beadTooltip, statusIcon } from "./beadsModel";

export class BeadsTreeProvider implements vscode.TreeDataProvider<BeadNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<BeadNode | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  private sync: BeadsSync | undefined;
  private roots: BeadNode[] = [];

  /** Attach to a server: fetch everything, then follow deltas. */
  connect(fetchAll: () => Promise<BeadsResult>): Promise<void> {
    this.sync = new BeadsSync(fetchAll, () => this.rebuild());
    return this.sync.refresh();
  }

  onDelta(delta: BeadsChanged): Promise<void> {
    return this.sync ? this.sync.onDelta(delta) : Promise.resolve();
  }

  refresh(): Promise<void> {
    return this.sync ? this.sync.refresh() : Promise.resolve();
  }

  get version(): number | undefined {
    return this.sync?.model.version;
  }

  private rebuild(): void {
    this.roots = this.sync ? this.sync.model.tree() : [];
    this.changed.fire();
  }

  getChildren(element?: BeadNode): BeadNode[] {
    return element ? element.children : this.roots;
  }

  getTreeItem(node: BeadNode): vscode.TreeItem {
    const bead = node.bead;
    const item = new vscode.TreeItem(
      bead.title,
      node.children.length > 0
        ? vscode.TreeItemCollapsibleState.Expanded
        : vscode.TreeItemCollapsibleState.None,
    );
    item.id = bead.id;
    item.description = beadDescription(bead);
    item.tooltip = new vscode.MarkdownString(beadTooltip(bead));
    const icon = statusIcon(bead.status);
    item.iconPath = new vscode.ThemeIcon(icon.id, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
    item.contextValue = `bead.${bead.issue_type}.${bead.status}`;
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
