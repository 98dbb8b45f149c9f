// The two views and the status bar, kept in step: the Beads view's filter, caption and ready set, the
// Agents view, and the figures the status bar counts. extension.ts creates one and feeds it server events.
import * as vscode from "vscode";
import type { TownApi } from "../client";
import { debounced, throttled } from "../debounce";
import { errorText } from "../errors";
import { TownStatusBar } from "../statusBar";
import { ANSWER_AGENT, AgentsTreeProvider, OPEN_AGENT_LOG } from "./agents";
import { type AgentRow, agentFigures, newQuestions, questionOf, shortQuestion } from "./agentsModel";
import { BeadsTreeProvider } from "./beads";
import { type BeadFilter, countHumanSteps, countReview, decodeBeads, viewCaption } from "./beadsModel";
import { BeadsWithConvoys } from "./workflow";
import { costsCaption, costsTooltip } from "./workflowModel";

const ANSWER = "Answer…";
const OPEN_LOG = "Open Log";

/** How long a burst of ledger deltas settles before the ready set is fetched again. */
const READY_DEBOUNCE_MS = 250;
/** Convoys follow ledger deltas; costs follow agent status (tokens stream in), at most every 2 s. */
const CONVOYS_DEBOUNCE_MS = 500;
const COSTS_THROTTLE_MS = 2000;

export class TownViews implements vscode.Disposable {
  readonly beads = new BeadsTreeProvider(async (id) => (await (await this.api()).bead({ id })).bead);
  readonly agents = new AgentsTreeProvider();
  readonly status = new TownStatusBar();
  readonly convoys = new BeadsWithConvoys(this.beads, async () => (await (await this.api()).convoys()).convoys);
  private readonly beadsView = vscode.window.createTreeView("gastown.beads", {
    treeDataProvider: this.convoys,
    showCollapseAll: true,
  });
  private readonly agentsView = vscode.window.createTreeView("gastown.agents", { treeDataProvider: this.agents });
  private readonly disposables: vscode.Disposable[] = [];
  /** Agent id -> the question the Overseer was told about. */
  private readonly told = new Map<string, string>();
  /** Re-fetch the server's ready set (debounced; `.now()` at once). */
  readonly refreshReady = debounced(READY_DEBOUNCE_MS, () => this.fetchReady());
  readonly refreshConvoys = debounced(CONVOYS_DEBOUNCE_MS, () => this.fetchConvoys());
  readonly refreshCosts = throttled(COSTS_THROTTLE_MS, () => this.fetchCosts());

  constructor(
    private readonly api: () => Promise<TownApi>,
    private readonly output: vscode.OutputChannel,
  ) {
    void vscode.commands.executeCommand("setContext", "gastown.beadsFilter", this.beads.filter);
    this.disposables.push(
      this.beads.onDidChangeBeads(() => {
        this.refreshReady();
        this.refreshConvoys();
        this.describe();
      }),
      this.agentsView.onDidChangeVisibility((e) => this.agents.setVisible(e.visible)),
    );
    this.agents.setVisible(this.agentsView.visible);
  }

  /** A (re)started server: fetch the beads, the agents and the ready set again. */
  connect(client: TownApi): void {
    this.beads
      .connect(async () => decodeBeads(await client.beads({ filter: "all" })))
      .catch((err) => this.output.appendLine(`gastown/beads failed: ${errorText(err)}`));
    client.agents().then(
      (result) => this.setAgents(result.agents),
      (err) => this.output.appendLine(`gastown/agents failed: ${errorText(err)}`),
    );
    this.refreshReady.now();
    this.refreshConvoys.now();
    this.refreshCosts.now();
  }

  setFilter(filter: BeadFilter): void {
    this.beads.setFilter(filter);
    void vscode.commands.executeCommand("setContext", "gastown.beadsFilter", filter);
    this.describe();
    if (filter === "ready") this.refreshReady.now();
  }

  setAgents(list: readonly AgentRow[]): void {
    this.agents.set(list);
    this.beads.setAgents(list);
    this.status.update(agentFigures(list));
    this.refreshCosts();
    for (const agent of newQuestions(list, this.told)) void this.tellQuestion(agent);
  }

  /** A polecat asks the Overseer something: say so, with the way to answer and to read its log. */
  private async tellQuestion(agent: AgentRow): Promise<void> {
    const on = agent.bead_id ? ` on ${agent.bead_id}` : "";
    const pick = await vscode.window.showWarningMessage(
      `Gas Town: ${agent.id}${on} needs you: ${shortQuestion(questionOf(agent) ?? "", 200)}`,
      ANSWER,
      OPEN_LOG,
    );
    if (pick === ANSWER) await vscode.commands.executeCommand(ANSWER_AGENT, agent.id);
    else if (pick === OPEN_LOG) await vscode.commands.executeCommand(OPEN_AGENT_LOG, agent.id);
  }

  private async fetchReady(): Promise<void> {
    try {
      const result = await (await this.api()).beads({ filter: "ready" });
      const ids = new Set(result.rows.map((row) => row[0]));
      this.beads.setReady(ids);
      this.status.update({ ready: ids.size });
    } catch (err) {
      this.output.appendLine(`gastown/beads {filter: ready} failed: ${errorText(err)}`);
    }
    this.describe();
  }

  private async fetchConvoys(): Promise<void> {
    try {
      await this.convoys.refresh();
    } catch (err) {
      this.output.appendLine(`gastown/convoys failed: ${errorText(err)}`);
    }
  }

  /** The town's costs: the Agents view's header and a line of the status bar's tooltip. */
  private async fetchCosts(): Promise<void> {
    try {
      const report = await (await this.api()).costs({});
      this.agentsView.description = costsCaption(report);
      this.status.update({ costs: costsTooltip(report) });
    } catch (err) {
      this.output.appendLine(`gastown/costs failed: ${errorText(err)}`);
    }
  }

  /** The view's caption and the status bar's review and human-step counts, after any change. */
  private describe(): void {
    const caption = viewCaption(this.beads.filter, this.beads.getChildren().length === 0);
    this.beadsView.description = caption.description;
    this.beadsView.message = caption.message;
    this.status.update({ review: countReview(this.beads.model), humanSteps: countHumanSteps(this.beads.model) });
  }

  dispose(): void {
    this.refreshReady.cancel();
    this.refreshConvoys.cancel();
    this.refreshCosts.cancel();
    for (const d of [...this.disposables, this.beadsView, this.agentsView, this.convoys, this.beads, this.agents,
      this.status]) {
      d.dispose();
    }
  }
}
