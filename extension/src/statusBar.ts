// The status-bar item: agents running · agents that need you · beads ready · beads to review · tokens used.
import * as vscode from "vscode";
import { summaryText, summaryTooltip, type TownSummary } from "./views/agentsModel";

export class TownStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("gastown.status", vscode.StatusBarAlignment.Left, 50);
  private summary: TownSummary = { running: 0, ready: undefined, review: 0, tokens: 0, needYou: 0 };

  constructor() {
    this.item.name = "Gas Town";
    this.item.command = "workbench.view.extension.gastown";
    this.render();
    this.item.show();
  }

  update(change: Partial<TownSummary>): void {
    const next = { ...this.summary, ...change };
    if (JSON.stringify(next) === JSON.stringify(this.summary)) return;
    this.summary = next;
    this.render();
  }

  private render(): void {
    this.item.text = summaryText(this.summary);
    this.item.tooltip = summaryTooltip(this.summary);
  }

  dispose(): void {
    this.item.dispose();
  }
}
