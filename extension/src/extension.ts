// Entry point: wires settings, the language client, the views and the commands. No logic of its own.
import * as vscode from "vscode";
import { type TownApi, TownClient } from "./client";
import { errorText, registerCommands } from "./commands";
import { readSettings } from "./settings";
import { AgentsTreeProvider } from "./views/agents";
import { BeadsTreeProvider } from "./views/beads";

let town: TownClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("Gas Town");
  const beads = new BeadsTreeProvider();
  const agents = new AgentsTreeProvider();
  context.subscriptions.push(
    output,
    beads,
    agents,
    vscode.window.registerTreeDataProvider("gastown.beads", beads),
    vscode.window.registerTreeDataProvider("gastown.agents", agents),
  );

  const started = startTown(output, beads, agents);
  context.subscriptions.push(
    ...registerCommands(() => started.then(requireTown), beads),
    { dispose: () => void town?.stop() },
  );
  // Activation does not wait for the server; commands do.
  started.catch((err) => {
    output.appendLine(`Gas Town server did not start: ${errorText(err)}`);
    void vscode.window.showErrorMessage(`Gas Town: the server did not start: ${errorText(err)}`);
  });
}

async function startTown(
  output: vscode.OutputChannel,
  beads: BeadsTreeProvider,
  agents: AgentsTreeProvider,
): Promise<TownClient | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    output.appendLine("No workspace folder open: Gas Town needs a git repository to manage.");
    return undefined;
  }
  town = await TownClient.start(readSettings(), folder, output);
  town.onBeadsChanged((delta) => {
    beads.onDelta(delta).catch((err) => output.appendLine(`beads re-fetch failed: ${errorText(err)}`));
  });
  town.onAgentStatus((status) => agents.set(status.agents));
  const client = town;
  // A failed first fetch is not fatal: the next delta finds no known version and re-fetches.
  await beads
    .connect(() => client.beads({ filter: "all" }))
    .catch((err) => output.appendLine(`gastown/beads failed: ${errorText(err)}`));
  client.agents().then(
    (result) => agents.set(result.agents),
    (err) => output.appendLine(`gastown/agents failed: ${errorText(err)}`),
  );
  return town;
}

function requireTown(t: TownClient | undefined): TownApi {
  if (!t) throw new Error("no workspace folder is open");
  return t;
}

export async function deactivate(): Promise<void> {
  await town?.stop();
  town = undefined;
}
