// Entry point: wires the town connection, the views, the review, the documents and the commands.
// No logic of its own. Activation never waits for the server; commands and views do.
import * as vscode from "vscode";
import { TownClient } from "./client";
import { registerCommands } from "./commands";
import { AgentLogDocuments, BEAD_SCHEME, BeadDocuments, LOG_SCHEME } from "./docs/providers";
import { join } from "node:path";
import { errorText } from "./errors";
import { registerRunFormula } from "./formulas";
import { ProblemNotices } from "./problemNotices";
import { editorToken, PullRequests, type PullRequestServer, registerPullRequestCommands } from "./pullRequests";
import { ReviewController } from "./review/review";
import { offerRestartOnSettings, restartServer, setAndRestart, syncBeads } from "./serverActions";
import { Town } from "./town";
import { TownViews } from "./views/townViews";

let town: Town | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("Gas Town");
  town = new Town(context.secrets, output, {
    storageDir: context.globalStorageUri.fsPath,
    wheelsDir: join(context.extensionPath, "bundled", "wheels"),
    version: String(context.extension.packageJSON.version),
  });
  const t = town;
  const api = () => t.api();
  const restart = () => restartServer(t);
  const notices = new ProblemNotices({ output, setAndRestart: (key, value) => setAndRestart(key, value, restart) });
  t.notices = notices;

  const views = new TownViews(api, output);
  const beadDocs = new BeadDocuments(api);
  const logDocs = new AgentLogDocuments();
  const review = new ReviewController(api, output, () =>
    Promise.resolve(vscode.commands.executeCommand("gastown.reviewNextDiff")),
  );
  context.subscriptions.push(
    output,
    t,
    views,
    beadDocs,
    logDocs,
    review,
    vscode.workspace.registerTextDocumentContentProvider(BEAD_SCHEME, beadDocs),
    vscode.workspace.registerTextDocumentContentProvider(LOG_SCHEME, logDocs),
    vscode.workspace.onDidCloseTextDocument((d) => beadDocs.forget(d.uri)),
  );

  // Server events.
  context.subscriptions.push(
    t.onBeadsChanged((delta) => {
      views.beads.onDelta(delta).catch((err) => output.appendLine(`beads re-fetch failed: ${errorText(err)}`));
      for (const bead of delta.changed ?? []) {
        beadDocs.beadChanged(bead.id);
        // A bead sent back to work will have a new diff.
        if (bead.status === "in_progress" || bead.status === "open") review.markStale(bead.id);
      }
    }),
    t.onAgentStatus((s) => views.setAgents(s.agents)),
    t.onAgentEvent((note) => logDocs.add(note)),
    t.onRunning((client) => views.connect(client)), // a first start or a restart
  );

  // Pull requests (github.landing): the epic rows show them; the editor's GitHub token goes to the server.
  const pulls = new PullRequests();
  let running: PullRequestServer | undefined;
  views.beads.decorate = (bead) => (bead.issue_type === "epic" ? pulls.describe(bead.id) : undefined);
  context.subscriptions.push(
    pulls,
    pulls.onDidChange(() => views.beads.repaint()),
    t.onRunning((client) => {
      if (!(client instanceof TownClient)) return;
      const server: PullRequestServer = client.client;
      running = server;
      void editorToken(context.secrets)
        .then((token) => pulls.attach(server, token))
        .catch((err) => output.appendLine(`gastown/pullRequests failed: ${errorText(err)}`));
    }),
    ...registerPullRequestCommands(pulls, context.secrets, async () => {
      await t.api();
      if (!running) throw new Error("the Gas Town server is not running");
      return running;
    }, output),
  );

  // Commands, and the restart new settings need.
  context.subscriptions.push(
    ...registerCommands({
      town: api,
      beads: views.beads,
      agents: views.agents,
      review,
      secrets: context.secrets,
      output,
      restart,
      setFilter: (filter) => views.setFilter(filter),
      sync: () => syncBeads(t, views),
      tellProblem: (text) => notices.tell(text),
    }),
    offerRestartOnSettings(restart),
    registerRunFormula(api, output),
  );

  void t.start();
}

export async function deactivate(): Promise<void> {
  await town?.stop();
  town = undefined;
}
