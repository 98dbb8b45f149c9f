// Commands: the palette's (category "Gas Town"), the views' context actions, and gastown.showBead (used
// by the server's code lenses). Each waits for the server connection, so it works right after activation.
import * as vscode from "vscode";
import type { TownApi } from "./client";
import { ServerCommands } from "./contracts";
import { beadUri, logUri } from "./docs/providers";
import type { AgentInfo, BeadSummary } from "./protocol";
import type { ReviewController } from "./review/review";
import { API_KEY_SECRET } from "./settings";
import { errorText } from "./errors";
import type { AgentsTreeProvider } from "./views/agents";
import { ANSWER_AGENT, OPEN_AGENT_LOG } from "./views/agents";
import type { BeadsTreeProvider } from "./views/beads";
import { SHOW_BEAD } from "./views/beads";
import { type BeadFilter, humanStep } from "./views/beadsModel";
import { agentIdOf, beadIdOf, canMessage, isDraftEpic, nextForReview } from "./commandArgs";
import { type AgentRow, questionOf, shortQuestion } from "./views/agentsModel";

export { errorText };

export interface CommandDeps {
  town: () => Promise<TownApi>;
  beads: BeadsTreeProvider;
  agents: AgentsTreeProvider;
  review: ReviewController;
  secrets: vscode.SecretStorage;
  output: vscode.OutputChannel;
  restart: () => Promise<void>;
  setFilter: (filter: BeadFilter) => void;
  sync: () => Promise<void>;
  /** Show an error as a known problem's notification (missing CLI, no login); false when it is not one. */
  tellProblem?: (text: string) => boolean;
}

export const Commands = {
  submitGoal: "gastown.submitGoal",
  reviewNextDiff: "gastown.reviewNextDiff",
  showBead: SHOW_BEAD,
  abortPolecat: "gastown.abortPolecat",
  syncBeads: "gastown.syncBeads",
  restartServer: "gastown.restartServer",
  openTownLog: "gastown.openTownLog",
  setApiKey: "gastown.setProviderApiKey",
  newBead: "gastown.newBead",
  filter: "gastown.beads.filter",
  filterReady: "gastown.beads.filterReady",
  filterOpen: "gastown.beads.filterOpen",
  filterAll: "gastown.beads.filterAll",
  dispatch: "gastown.bead.dispatch",
  close: "gastown.bead.close",
  done: "gastown.bead.done",
  reopen: "gastown.bead.reopen",
  setPriority: "gastown.bead.setPriority",
  openDiff: "gastown.bead.openDiff",
  approvePlan: "gastown.approvePlan",
  discardPlan: "gastown.discardPlan",
  agentLog: OPEN_AGENT_LOG,
  agentDiff: "gastown.agent.openDiff",
  agentAnswer: ANSWER_AGENT,
  agentMessage: "gastown.agent.message",
  retry: "gastown.bead.retry",
  agentWorktree: "gastown.agent.openWorktree",
} as const;

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { town, beads, agents, review } = deps;
  const reg = (id: string, fn: (...args: any[]) => unknown) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        deps.output.appendLine(`${id} failed: ${errorText(err)}`);
        if (!deps.tellProblem?.(errorText(err))) void vscode.window.showErrorMessage(`Gas Town: ${errorText(err)}`);
        return undefined;
      }
    });
  const update = async (id: string, change: { status?: "open" | "closed"; priority?: number }, done: string) => {
    const { bead } = await (await town()).updateBead({ id, ...change });
    void vscode.window.setStatusBarMessage(`Gas Town: ${bead.id} ${done} (${bead.status}, P${bead.priority ?? "?"})`, 4000);
    return bead;
  };
  return [
    reg(Commands.submitGoal, (goal?: string) => submitGoal(town, goal, deps.tellProblem)),
    reg(Commands.reviewNextDiff, () => reviewNextDiff(beads, review)),
    reg(Commands.showBead, async (arg?: unknown) => {
      const id = beadIdOf(arg) ?? (await pickBead(beads, "Show which bead?"));
      if (!id) return undefined;
      const doc = await vscode.workspace.openTextDocument(beadUri(id));
      return vscode.window.showTextDocument(doc, { preview: true });
    }),
    reg(Commands.abortPolecat, async (arg?: unknown) => {
      const id = agentIdOf(arg) ?? (await pickAgent(agents));
      if (!id) return undefined;
      const ok = await vscode.window.showWarningMessage(
        `Abort ${id}? Its session ends now and its bead goes back to the Witness.`,
        { modal: true },
        "Abort",
      );
      if (ok !== "Abort") return undefined;
      const result = await (await town()).abortAgent({ id });
      void vscode.window.showInformationMessage(`Gas Town: ${id} aborted.`);
      return result;
    }),
    reg(Commands.syncBeads, () => deps.sync()),
    reg(Commands.restartServer, () => deps.restart()),
    reg(Commands.openTownLog, () => deps.output.show(true)),
    reg(Commands.setApiKey, async () => {
      const key = await vscode.window.showInputBox({
        title: "Gas Town: Set Provider API Key",
        prompt: "The bring-your-own-key provider's API key, kept in VS Code's secret storage (empty: remove it).",
        password: true,
        ignoreFocusOut: true,
      });
      if (key === undefined) return;
      if (key.trim()) await deps.secrets.store(API_KEY_SECRET, key.trim());
      else await deps.secrets.delete(API_KEY_SECRET);
      const pick = await vscode.window.showInformationMessage(
        `Gas Town: API key ${key.trim() ? "stored" : "removed"}. The server gets it when it starts.`,
        "Restart Server",
      );
      if (pick) await deps.restart();
    }),
    reg(Commands.newBead, async (title?: string) => {
      const text =
        typeof title === "string" && title.trim()
          ? title.trim()
          : (await vscode.window.showInputBox({ title: "Gas Town: Create Bead", prompt: "Title of the new bead" }))?.trim();
      if (!text) return undefined;
      return vscode.commands.executeCommand(ServerCommands.createBead, { title: text });
    }),
    reg(Commands.filter, async () => {
      const items = (["ready", "open", "all"] as BeadFilter[]).map((f) => ({
        label: f === beads.filter ? `$(check) ${f}` : f,
        filter: f,
        description: { ready: "open, unblocked, dispatchable", open: "not closed", all: "everything" }[f],
      }));
      const pick = await vscode.window.showQuickPick(items, { title: "Gas Town: show which beads?" });
      if (pick) deps.setFilter(pick.filter);
    }),
    reg(Commands.filterReady, () => deps.setFilter("ready")),
    reg(Commands.filterOpen, () => deps.setFilter("open")),
    reg(Commands.filterAll, () => deps.setFilter("all")),
    reg(Commands.dispatch, async (arg?: unknown) => {
      const id = beadIdOf(arg) ?? (await pickBead(beads, "Dispatch which bead?", (b) => b.status !== "closed"));
      return id && update(id, { status: "open" }, "queued for dispatch");
    }),
    reg(Commands.close, async (arg?: unknown) => {
      const id = beadIdOf(arg) ?? (await pickBead(beads, "Close which bead?", (b) => b.status !== "closed"));
      return id && update(id, { status: "closed" }, "closed");
    }),
    // A human step the Overseer has done: closing it is what lets the steps after it go to polecats.
    reg(Commands.done, async (arg?: unknown) => {
      const id = beadIdOf(arg) ?? (await pickBead(beads, "Which human step have you done?", (b) => !!humanStep(b)));
      if (!id) return undefined;
      const { bead } = await (await town()).updateBead({ id, status: "closed", reason: "done by the Overseer" });
      void vscode.window.setStatusBarMessage(`Gas Town: ${bead.id} done by you, closed`, 4000);
      return bead;
    }),
    reg(Commands.reopen, async (arg?: unknown) => {
      const id = beadIdOf(arg) ?? (await pickBead(beads, "Reopen which bead?", (b) => b.status === "closed"));
      return id && update(id, { status: "open" }, "reopened");
    }),
    reg(Commands.setPriority, async (arg?: unknown, given?: number) => {
      const id = beadIdOf(arg) ?? (await pickBead(beads, "Set the priority of which bead?"));
      if (!id) return undefined;
      let priority = typeof given === "number" ? given : undefined;
      if (priority === undefined) {
        const current = beads.model.get(id)?.priority;
        const names = ["critical", "high", "medium", "low", "backlog"];
        const pick = await vscode.window.showQuickPick(
          names.map((name, p) => ({ label: `P${p}`, description: `${name}${p === current ? " (current)" : ""}`, p })),
          { title: `Gas Town: priority of ${id}` },
        );
        priority = pick?.p;
      }
      return priority === undefined ? undefined : update(id, { priority }, `set to P${priority}`);
    }),
    reg(Commands.approvePlan, (arg?: unknown) => decidePlan(town, beads, arg, "approve")),
    reg(Commands.discardPlan, (arg?: unknown) => decidePlan(town, beads, arg, "discard")),
    reg(Commands.openDiff, async (arg?: unknown) => {
      const id =
        beadIdOf(arg) ?? (await pickBead(beads, "Open the diff of which bead?", (b) => b.issue_type !== "epic"));
      return id && review.openDiff(id);
    }),
    reg(Commands.agentLog, async (arg?: unknown) => {
      const id = agentIdOf(arg) ?? (await pickAgent(agents, true));
      if (!id) return undefined;
      const doc = await vscode.workspace.openTextDocument(logUri(id));
      return vscode.window.showTextDocument(doc, { preview: true });
    }),
    reg(Commands.agentDiff, async (arg?: unknown) => {
      const agent = agentOf(agents, arg);
      if (!agent?.bead_id) throw new Error(`${agent?.id ?? "this agent"} has no bead`);
      return review.openDiff(agent.bead_id);
    }),
    reg(Commands.agentAnswer, async (arg?: unknown) => {
      const agent = agentOf(agents, arg) ?? (await pickAgentRow(agents, "Answer which agent?", (a) => !!questionOf(a)));
      const question = agent && questionOf(agent);
      if (!agent || !question) {
        if (agent) void vscode.window.showInformationMessage(`Gas Town: ${agent.id} is not waiting for an answer.`);
        return undefined;
      }
      if (!agent.bead_id) throw new Error(`${agent.id} has no bead to answer for`);
      const text = await askText(`Gas Town: answer ${agent.id}`, shortQuestion(question, 300), "Your answer");
      if (!text) return undefined;
      const result = await (await town()).answer({ beadId: agent.bead_id, text });
      void vscode.window.showInformationMessage(`Gas Town: ${result.message}`);
      return result;
    }),
    reg(Commands.agentMessage, async (arg?: unknown) => {
      const agent = agentOf(agents, arg) ?? (await pickAgentRow(agents, "Message which polecat?", canMessage));
      if (!agent) return undefined;
      if (!agent.bead_id || !canMessage(agent)) throw new Error(`${agent.id} is not working on a bead right now`);
      const text = await askText(`Gas Town: message ${agent.id}`, `Read by the polecat on ${agent.bead_id} at its next turn.`,
        "e.g. Use the existing helper in utils.py instead");
      if (!text) return undefined;
      const result = await (await town()).nudge({ beadId: agent.bead_id, text });
      void vscode.window.showInformationMessage(`Gas Town: ${result.message}`);
      return result;
    }),
    reg(Commands.retry, async (arg?: unknown) => {
      const id =
        beadIdOf(arg) ??
        agentOf(agents, arg)?.bead_id ??
        (await pickBead(beads, "Retry which bead?", (b) => b.status === "blocked"));
      if (!id) return undefined;
      const note = await vscode.window.showInputBox({
        title: `Gas Town: retry ${id}`,
        prompt: "A note for the polecat that takes it up again (what to do differently); empty: none.",
        ignoreFocusOut: true,
      });
      if (note === undefined) return undefined;
      const result = await (await town()).retry({ beadId: id, note: note.trim() || null });
      void vscode.window.showInformationMessage(`Gas Town: ${result.message}`);
      return result;
    }),
    reg(Commands.agentWorktree, async (arg?: unknown) => {
      const agent = agentOf(agents, arg);
      if (!agent?.worktree) throw new Error(`${agent?.id ?? "this agent"} has no worktree`);
      return vscode.commands.executeCommand("vscode.openFolder", vscode.Uri.file(agent.worktree), {
        forceNewWindow: true,
      });
    }),
  ];
}

function agentOf(agents: AgentsTreeProvider, arg: unknown): AgentInfo | undefined {
  const id = agentIdOf(arg);
  return id ? (agents.get(id) ?? (typeof arg === "object" ? (arg as AgentInfo) : undefined)) : undefined;
}

/** Approve (or discard) a drafted plan: the epic from the tree, or picked among the drafted epics. */
async function decidePlan(
  town: () => Promise<TownApi>,
  beads: BeadsTreeProvider,
  arg: unknown,
  decision: "approve" | "discard",
) {
  const id =
    beadIdOf(arg) ??
    (await pickBead(beads, `${decision === "approve" ? "Approve" : "Discard"} which plan?`, isDraftEpic));
  if (!id) return undefined;
  const result = await (await town()).planDecision({ epicId: id, decision });
  void vscode.window.showInformationMessage(
    decision === "approve"
      ? `Gas Town: plan ${id} approved; ${result.bead_ids?.length ?? 0} beads go to the polecats.`
      : `Gas Town: plan ${id} discarded.`,
  );
  return result;
}

async function pickBead(
  beads: BeadsTreeProvider,
  title: string,
  keep: (b: BeadSummary) => boolean = () => true,
): Promise<string | undefined> {
  const items = beads.model
    .all()
    .filter((b) => b.status !== "tombstone" && keep(b))
    .map((b) => ({ label: b.title, description: `${b.id} · ${b.status} · P${b.priority}`, id: b.id }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage("Gas Town: no bead to choose from.");
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: `Gas Town: ${title}`, matchOnDescription: true }))?.id;
}

/** A non-empty line of text from the Overseer, or undefined when cancelled. */
async function askText(title: string, prompt: string, placeHolder: string): Promise<string | undefined> {
  const text = await vscode.window.showInputBox({
    title,
    prompt,
    placeHolder,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : "Write something, or press Escape"),
  });
  return text?.trim() || undefined;
}

async function pickAgentRow(
  agents: AgentsTreeProvider,
  title: string,
  keep: (a: AgentRow) => boolean,
): Promise<AgentRow | undefined> {
  const items = agents
    .list()
    .filter(keep)
    .map((a) => ({ label: a.id, description: `${a.state}${a.bead_id ? ` · ${a.bead_id}` : ""}`, agent: a }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage("Gas Town: no agent to choose from.");
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: `Gas Town: ${title}` }))?.agent;
}

async function pickAgent(agents: AgentsTreeProvider, all = false): Promise<string | undefined> {
  const items = agents
    .list()
    .filter((a) => all || (a.role === "polecat" && !["done", "failed"].includes(a.state)))
    .map((a) => ({ label: a.id, description: `${a.state}${a.bead_id ? ` · ${a.bead_id}` : ""}` }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage(all ? "Gas Town: no agents yet." : "Gas Town: no polecat is running.");
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: "Gas Town: which agent?" }))?.label;
}

async function reviewNextDiff(beads: BeadsTreeProvider, review: ReviewController) {
  const done = new Set(
    beads.model
      .all()
      .filter((b) => {
        const r = review.review(b.id);
        return r !== undefined && !r.stale && r.undecided().length === 0;
      })
      .map((b) => b.id),
  );
  const next = nextForReview(beads.model.all(), done);
  if (!next) {
    void vscode.window.showInformationMessage("Gas Town: no bead is waiting for review.");
    return undefined;
  }
  return review.openDiff(next.id);
}

/** Ask for a goal (unless given), send gastown/submitGoal, report the epic. Returns the result. */
export async function submitGoal(
  town: () => Promise<TownApi>,
  given?: string,
  tellProblem?: (text: string) => boolean,
) {
  const goal =
    typeof given === "string" && given.trim()
      ? given.trim()
      : (
          await vscode.window.showInputBox({
            title: "Gas Town: Submit Goal",
            prompt: "Describe the goal",
            placeHolder: "e.g. Add a --verbose flag to the CLI and document it",
            ignoreFocusOut: true,
            validateInput: (v) => (v.trim() ? undefined : "The goal cannot be empty"),
          })
        )?.trim();
  if (!goal) return undefined;
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: "Gas Town: the Mayor is planning…" },
      async () => (await town()).submitGoal({ goal }),
    );
    const n = result.bead_ids.length;
    void vscode.window.showInformationMessage(
      `Gas Town: goal planned as epic ${result.epic_id} with ${n} bead${n === 1 ? "" : "s"}.`,
    );
    return result;
  } catch (err) {
    if (tellProblem?.(errorText(err))) return undefined;
    void vscode.window.showErrorMessage(`Gas Town: submitting the goal failed: ${errorText(err)}`);
    return undefined;
  }
}
