// The Agents view: one row per live agent, replaced wholesale by each gastown/agentStatus.
import * as vscode from "vscode";
import type { AgentInfo } from "../protocol";
import { agentDescription, agentIcon, agentTooltip, sortAgents } from "./agentsModel";

export class AgentsTreeProvider implements vscode.TreeDataProvider<AgentInfo>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<AgentInfo | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  private agents: AgentInfo[] = [];

  set(agents: readonly AgentInfo[]): void {
    this.agents = sortAgents(agents);
    this.changed.fire();
  }

  getChildren(element?: AgentInfo): AgentInfo[] {
    return element ? [] : this.agents;
  }

  getTreeItem(agent: AgentInfo): vscode.TreeItem {
    const item = new vscode.TreeItem(agent.id, vscode.TreeItemCollapsibleState.None);
    item.id = agent.id;
    item.description = agentDescription(agent);
    item.tooltip = new vscode.MarkdownString(agentTooltip(agent));
    const icon = agentIcon(agent.state);
    item.iconPath = new vscode.ThemeIcon(icon.id, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
    item.contextValue = `agent.${agent.role}.${agent.state}`;
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
