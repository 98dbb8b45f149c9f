// The Beads view: epics with their tasks under them, fed by gastown/beads and gastown/beadsChanged.
// Rows are stable node objects, so a delta repaints only the rows it touched (the whole tree only when
// the roots change or a filter other than "all" is on).
import * as vscode from "vscode";
import type { AgentInfo, BeadSummary, BeadsChanged } from "../protocol";
import { agentsByBead } from "./agentsModel";
import {
  type BeadDetails,
  type BeadFilter,
  type BeadList,
  type BeadNode,
  BeadsSync,
  FilteredTree,
  type TreeChange,
  beadContext,
  beadDescription,
  beadIcon,
  beadTooltip,
} from "./beadsModel";

export const SHOW_BEAD = "gastown.showBead";

export class BeadsTreeProvider implements vscode.TreeDataProvider<BeadNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<BeadNode | BeadNode[] | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly dataChanged = new vscode.EventEmitter<void>();
  /** Fired after any change of the beads (for the status bar and filters). */
  readonly onDidChangeBeads = this.dataChanged.event;
  private sync: BeadsSync = new BeadsSync(async () => ({ version: 0, beads: [] }));
  private view: FilteredTree = new FilteredTree(this.sync.model);
  private agents = new Map<string, AgentInfo>();
  private connected = false;
  /** More for a row's description (an epic's pull request), from outside the view. */
  decorate: ((bead: BeadSummary) => string | undefined) | undefined;

  /** `details` fetches what a hovered row's tooltip shows beyond the row (gastown/bead). */
  constructor(private readonly details?: (id: string) => Promise<BeadDetails>) {}

  /** Attach to a server: fetch everything, then follow deltas. Called again after a server restart. */
  connect(fetchAll: () => Promise<BeadList>): Promise<void> {
    const filter = this.view.filter;
    const ready = this.view.ready;
    this.sync = new BeadsSync(fetchAll, (change) => this.onChange(change));
    this.view = new FilteredTree(this.sync.model);
    this.view.filter = filter;
    this.view.ready = ready;
    this.connected = true;
    return this.sync.refresh();
  }

  onDelta(delta: BeadsChanged): Promise<void> {
    return this.connected ? this.sync.onDelta(delta) : Promise.resolve();
  }

  /** Every row again (what ``decorate`` says changed). */
  repaint(): void {
    this.changed.fire();
  }

  refresh(): Promise<void> {
    return this.connected ? this.sync.refresh() : Promise.resolve();
  }

  get version(): number | undefined {
    return this.sync.model.version;
  }

  get model() {
    return this.sync.model;
  }

  get filter(): BeadFilter {
    return this.view.filter;
  }

  setFilter(filter: BeadFilter): void {
    if (filter === this.view.filter) return;
    this.view.filter = filter;
    this.view.update();
    this.changed.fire();
  }

  /** The server's ready set (gastown/beads {filter: ready}); repaints when the ready filter is on. */
  setReady(ids: ReadonlySet<string>): void {
    this.view.ready = ids;
    if (this.view.filter === "ready") {
      this.view.update();
      this.changed.fire();
    }
  }

  /** Number of beads the current filter matches. */
  count(): number {
    return this.view.count();
  }

  /** Live agents: rows of beads whose agent changed repaint. */
  setAgents(agents: readonly AgentInfo[]): void {
    const next = agentsByBead(agents);
    const touched: BeadNode[] = [];
    const ids = new Set([...this.agents.keys(), ...next.keys()]);
    for (const id of ids) {
      const a = this.agents.get(id);
      const b = next.get(id);
      if (a?.id !== b?.id || a?.state !== b?.state || a?.current_tool !== b?.current_tool) {
        const node = this.sync.model.node(id);
        if (node) touched.push(node);
      }
    }
    this.agents = next;
    if (touched.length) this.changed.fire(touched);
  }

  private onChange(change: TreeChange): void {
    if (this.view.filter !== "all") {
      this.view.update();
      this.changed.fire();
    } else if (change.all) {
      this.changed.fire();
    } else if (change.nodes.length) {
      this.changed.fire(change.nodes);
    }
    this.dataChanged.fire();
  }

  getChildren(element?: BeadNode): BeadNode[] {
    return this.view.children(element);
  }

  getParent(element: BeadNode): BeadNode | undefined {
    return element.parent;
  }

  getTreeItem(node: BeadNode): vscode.TreeItem {
    const bead = node.bead;
    const item = new vscode.TreeItem(
      bead.title,
      this.view.hasChildren(node) ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    item.id = bead.id;
    const agent = this.agents.get(bead.id);
    item.description = beadDescription(bead, agent);
    const extra = this.decorate?.(bead);
    if (extra) item.description += ` · ${extra}`;
    const icon = beadIcon(bead);
    item.iconPath = new vscode.ThemeIcon(icon.id, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
    item.contextValue = beadContext(bead);
    item.command = { command: SHOW_BEAD, title: "Show Bead", arguments: [bead.id] };
    return item;
  }

  /**
   * The tooltip is built when the row is hovered, not for every row; its labels and acceptance criteria
   * are fetched then (the list carries only what the rows show). Without them it still shows the row.
   */
  async resolveTreeItem(item: vscode.TreeItem, node: BeadNode): Promise<vscode.TreeItem> {
    let details: BeadDetails | undefined;
    try {
      details = await this.details?.(node.bead.id);
    } catch {
      details = undefined; // e.g. the bead was just removed, or the server is restarting
    }
    item.tooltip = new vscode.MarkdownString(beadTooltip(node.bead, this.agents.get(node.bead.id), details));
    return item;
  }

  dispose(): void {
    this.changed.dispose();
    this.dataChanged.dispose();
  }
}
