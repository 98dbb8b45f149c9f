// Entry point: wires the town connection, the views, the review, the documents and the commands.
// No logic of its own. Activation never waits for the server; commands and views do.
import * as vscode from "vscode";
import { type CommandDeps, registerCommands } from "./commands";
import { AgentLogDocuments, BEAD_SCHEME, BeadDocuments, LOG_SCHEME } from "./docs/providers";
import { ReviewController } from "./review/review";
import type { AgentInfo } from "./protocol";
import { RESTART_KEYS } from "./settings";
import { TownStatusBar } from "./statusBar";
import { errorText } from "./errors";
import { Town } from "./town";
import { AgentsTreeProvider } from "./views/agents";
import { isActive } from "./views/agentsModel";
import { BeadsTreeProvider } from "./views/beads";
import type { BeadFilter } from "./views/beadsModel";

let town: Town | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("Gas Town");
  town = new Town(context.secrets, output);
  const t = town;
  const api = () => t.api();

  const beads = new BeadsTreeProvider();
  const agents = new AgentsTreeProvider();
  const beadsView = vscode.window.createTreeView("gastown.beads", { treeDataProvider: beads, showCollapseAll: true });
  const agentsView = vscode.window.createTreeView("gastown.agents", { treeDataProvider: agents });
  const status = new TownStatusBar();
  const beadDocs = new BeadDocuments(api);
  const logDocs = new AgentLogDocuments();
  const review = new ReviewController(api, output, () =>
    Promise.resolve(vscode.commands.executeCommand("gastown.reviewNextDiff")),
  );
  context.subscriptions.push(
    output,
    t,
    beads,
    agents,
    beadsView,
    agentsView,
    status,
    beadDocs,
    logDocs,
    review,
    vscode.workspace.registerTextDocumentContentProvider(BEAD_SCHEME, beadDocs),
    vscode.workspace.registerTextDocumentContentProvider(LOG_SCHEME, logDocs),
    vscode.workspace.onDidCloseTextDocument((d) => beadDocs.forget(d.uri)),
  );

  // --- the Beads view: filter, ready set, status bar ------------------------------------------------
  const ready = debounced(250, async () => {
    try {
      const result = await (await api()).beads({ filter: "ready" });
      const ids = new Set(result.beads.map((b) => b.id));
      beads.setReady(ids);
      status.update({ ready: ids.size });
    } catch (err) {
      output.appendLine(`gastown/beads {filter: ready} failed: ${errorText(err)}`);
    }
    describeView();
  });
  const describeView = () => {
    const filter = beads.filter;
    beadsView.description = filter === "all" ? undefined : filter;
    const empty = beads.getChildren().length === 0;
    beadsView.message =
      empty && filter !== "all" ? `No ${filter} beads. (Filter: ${filter}; "Show All Beads" lists every bead.)` : undefined;
    let review = 0;
    for (const node of beads.model.values()) if (node.bead.status === "review") review++;
    status.update({ review });
  };
  const setFilter = (filter: BeadFilter) => {
    beads.setFilter(filter);
    void vscode.commands.executeCommand("setContext", "gastown.beadsFilter", filter);
    describeView();
    if (filter === "ready") ready.now();
  };
  void vscode.commands.executeCommand("setContext", "gastown.beadsFilter", beads.filter);
  context.subscriptions.push(
    beads.onDidChangeBeads(() => {
      ready();
      describeView();
    }),
    agentsView.onDidChangeVisibility((e) => agents.setVisible(e.visible)),
    { dispose: () => ready.cancel() },
  );
  agents.setVisible(agentsView.visible);

  // --- server events -------------------------------------------------------------------------------
  const applyAgents = (list: readonly AgentInfo[]) => {
    agents.set(list);
    beads.setAgents(list);
    status.update({
      running: list.filter((a) => a.role === "polecat" && isActive(a)).length,
      tokens: list.reduce((sum, a) => sum + (a.tokens ?? 0), 0),
    });
  };
  context.subscriptions.push(
    t.onBeadsChanged((delta) => {
      beads.onDelta(delta).catch((err) => output.appendLine(`beads re-fetch failed: ${errorText(err)}`));
      for (const bead of delta.changed ?? []) {
        beadDocs.beadChanged(bead.id, bead.updated_at);
        // A bead sent back to work will have a new diff.
        if (bead.status === "in_progress" || bead.status === "open") review.markStale(bead.id);
      }
    }),
    t.onAgentStatus((s) => applyAgents(s.agents)),
    t.onAgentEvent((note) => logDocs.add(note)),
    t.onRunning((client) => {
      // A first start or a restart: fetch everything again.
      beads
        .connect(() => client.beads({ filter: "all" }))
        .catch((err) => output.appendLine(`gastown/beads failed: ${errorText(err)}`));
      client.agents().then(
        (result) => applyAgents(result.agents),
        (err) => output.appendLine(`gastown/agents failed: ${errorText(err)}`),
      );
      ready.now();
    }),
  );

  // --- commands ------------------------------------------------------------------------------------
  const deps: CommandDeps = {
    town: api,
    beads,
    agents,
    review,
    secrets: context.secrets,
    output,
    restart: async () => {
      output.appendLine("Restarting the Gas Town server…");
      await t.restart();
      await api(); // rejects (and the command reports it) when the new server did not start
      void vscode.window.setStatusBarMessage("Gas Town: server restarted", 5000);
    },
    setFilter,
    sync: async () => {
      // Import the git-synced JSONL (what git pull would trigger), then fetch everything again.
      await (await api()).importLedger();
      await beads.refresh();
      ready.now();
      void vscode.window.setStatusBarMessage(`Gas Town: beads synced (version ${beads.version ?? "?"})`, 4000);
    },
  };
  context.subscriptions.push(...registerCommands(deps));

  // New settings that the server reads at start: offer a restart.
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!RESTART_KEYS.some((k) => e.affectsConfiguration(`gastown.${k}`))) return;
      const pick = await vscode.window.showInformationMessage(
        "Gas Town: settings changed. Restart the server to apply them?",
        "Restart Server",
      );
      if (pick) await deps.restart();
    }),
  );

  void t.start();
}

/** A function that runs `fn` once, `ms` after the last call; `now()` runs it at once. */
function debounced(ms: number, fn: () => Promise<void> | void) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const call = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void fn();
    }, ms);
  };
  call.now = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    void fn();
  };
  call.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  return call;
}

export async function deactivate(): Promise<void> {
  await town?.stop();
  town = undefined;
}
