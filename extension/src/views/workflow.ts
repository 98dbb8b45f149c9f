// The Beads view with a Convoys node on top: each convoy with its progress, its beads under it. Wraps the
// bead tree provider (bead rows are its own, untouched); convoy beads themselves show only under Convoys.
import * as vscode from "vscode";
import type { ConvoyMember, ConvoyProgress } from "../protocol";
import { type BeadsTreeProvider, SHOW_BEAD } from "./beads";
import type { BeadNode } from "./beadsModel";
import {
  CONVOY_TYPE,
  convoyDescription,
  convoyIcon,
  convoysSummary,
  convoyTooltip,
  memberIcon,
  memberRowId,
  memberState,
} from "./workflowModel";

export interface ConvoysRoot {
  kind: "convoys";
}
export interface ConvoyRow {
  kind: "convoy";
  convoy: ConvoyProgress;
}
export interface MemberRow {
  kind: "member";
  member: ConvoyMember;
  parent: ConvoyRow;
}
export type WorkflowRow = ConvoysRoot | ConvoyRow | MemberRow;
export type BeadsViewRow = BeadNode | WorkflowRow;

function isWorkflow(row: BeadsViewRow): row is WorkflowRow {
  return "kind" in row;
}

function icon(spec: { id: string; color?: string }): vscode.ThemeIcon {
  return new vscode.ThemeIcon(spec.id, spec.color ? new vscode.ThemeColor(spec.color) : undefined);
}

export class BeadsWithConvoys implements vscode.TreeDataProvider<BeadsViewRow>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<BeadsViewRow | BeadsViewRow[] | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly root: ConvoysRoot = { kind: "convoys" };
  private rows: ConvoyRow[] = [];
  private known = "[]";
  private readonly forward: vscode.Disposable;

  /** `fetch` answers gastown/convoys. */
  constructor(
    private readonly beads: BeadsTreeProvider,
    private readonly fetch: () => Promise<ConvoyProgress[]>,
  ) {
    this.forward = beads.onDidChangeTreeData((e) => this.changed.fire(e));
  }

  get convoys(): ConvoyProgress[] {
    return this.rows.map((r) => r.convoy);
  }

  /** Fetch the convoys again; the view repaints only when something changed. */
  async refresh(): Promise<void> {
    const list = await this.fetch();
    const text = JSON.stringify(list);
    if (text === this.known) return;
    this.known = text;
    this.rows = list.map((convoy) => ({ kind: "convoy", convoy }));
    this.changed.fire();
  }

  getChildren(element?: BeadsViewRow): BeadsViewRow[] {
    if (!element) {
      const beads = this.beads.getChildren().filter((n) => n.bead.issue_type !== CONVOY_TYPE);
      return this.rows.length ? [this.root, ...beads] : beads;
    }
    if (!isWorkflow(element)) return this.beads.getChildren(element);
    if (element.kind === "convoys") return this.rows;
    if (element.kind === "convoy") {
      return element.convoy.members.map((member): MemberRow => ({ kind: "member", member, parent: element }));
    }
    return [];
  }

  getParent(element: BeadsViewRow): BeadsViewRow | undefined {
    if (!isWorkflow(element)) return this.beads.getParent(element);
    if (element.kind === "convoy") return this.root;
    if (element.kind === "member") return element.parent;
    return undefined;
  }

  getTreeItem(element: BeadsViewRow): vscode.TreeItem {
    if (!isWorkflow(element)) return this.beads.getTreeItem(element);
    const collapsed = vscode.TreeItemCollapsibleState.Collapsed;
    if (element.kind === "convoys") {
      const item = new vscode.TreeItem("Convoys", collapsed);
      item.id = "convoys";
      item.description = convoysSummary(this.convoys);
      item.iconPath = new vscode.ThemeIcon("layers");
      item.contextValue = "convoys";
      return item;
    }
    if (element.kind === "convoy") {
      const p = element.convoy;
      const item = new vscode.TreeItem(p.name, p.members.length ? collapsed : vscode.TreeItemCollapsibleState.None);
      item.id = `convoy:${p.id}`;
      item.description = convoyDescription(p);
      item.tooltip = new vscode.MarkdownString(convoyTooltip(p));
      item.iconPath = icon(convoyIcon(p));
      item.contextValue = "convoy";
      return item;
    }
    const m = element.member;
    const item = new vscode.TreeItem(m.title);
    item.id = memberRowId(element.parent.convoy.id, m.id);
    item.description = `${m.id} · ${memberState(m)}`;
    item.iconPath = icon(memberIcon(m));
    item.contextValue = "convoy.member";
    item.command = { command: SHOW_BEAD, title: "Show Bead", arguments: [m.id] };
    return item;
  }

  resolveTreeItem(item: vscode.TreeItem, element: BeadsViewRow): Promise<vscode.TreeItem> | vscode.TreeItem {
    return isWorkflow(element) ? item : this.beads.resolveTreeItem(item, element);
  }

  dispose(): void {
    this.forward.dispose();
    this.changed.dispose();
  }
}
