// The Agents view: one row per agent, replaced wholesale by each gastown/agentStatus; the elapsed time of
// running agents ticks while the view is visible.
import * as vscode from "vscode";
import type { AgentInfo } from "../protocol";
import { agentDescription, agentIcon, agentTooltip, isActive, sortAgents } from "./agentsModel";

export const OPEN_AGENT_LOG = "gastown.agent.openLog";
export const ANSWER_AGENT = "gastown.agent.answer";

export class AgentsTreeProvider implements vscode.TreeDataProvider<AgentInfo>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<AgentInfo | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  private agents: AgentInfo[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private visible = false;

  constructor(private readonly now: () => number = Date.now) {}

  set(agents: readonly AgentInfo[]): void {
    this.agents = sortAgents(agents);
    this.changed.fire();
    this.schedule();
  }

  list(): readonly AgentInfo[] {
    return this.agents;
  }

  get(id: string): AgentInfo | undefined {
    return this.agents.find((a) => a.id === id);
  }

  /** The view tells us when it is shown: the clock only ticks then. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.schedule();
  }

  private schedule(): void {
    const tick = this.visible && this.agents.some(isActive);
    if (tick && !this.timer) {
      this.timer = setInterval(() => this.changed.fire(), 1000);
    } else if (!tick && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  getChildren(element?: AgentInfo): AgentInfo[] {
    return element ? [] : this.agents;
  }

  getTreeItem(agent: AgentInfo): vscode.TreeItem {
    const item = new vscode.TreeItem(agent.id, vscode.TreeItemCollapsibleState.None);
    item.id = agent.id;
    const now = this.now();
    item.description = agentDescription(agent, now);
    item.tooltip = new vscode.MarkdownString(agentTooltip(agent, now));
    const icon = agentIcon(agent.state);
    item.iconPath = new vscode.ThemeIcon(icon.id, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
    const flags = [agent.bead_id ? "bead" : "", agent.worktree ? "worktree" : "", isActive(agent) ? "active" : ""];
    item.contextValue = [`agent.${agent.role}.${agent.state}`, ...flags.filter(Boolean)].join(" ");
    item.command = { command: OPEN_AGENT_LOG, title: "Open Log", arguments: [agent.id] };
    return item;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.changed.dispose();
  }
}
