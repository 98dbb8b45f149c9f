// What "Restart Server" and "Sync Beads" do, and the restart offered when a setting the server reads at
// start changes.
import * as vscode from "vscode";
import { RESTART_KEYS } from "./settings";
import type { Town } from "./town";
import type { TownViews } from "./views/townViews";

/** Stop and start the server; rejects (and the command reports it) when the new server did not start. */
export async function restartServer(town: Town): Promise<void> {
  town.output.appendLine("Restarting the Gas Town server…");
  await town.restart();
  await town.api();
  void vscode.window.setStatusBarMessage("Gas Town: server restarted", 5000);
}

/** Import the git-synced JSONL (what a git pull would trigger), then fetch everything again. */
export async function syncBeads(town: Town, views: TownViews): Promise<void> {
  await (await town.api()).importLedger();
  await views.beads.refresh();
  views.refreshReady.now();
  void vscode.window.setStatusBarMessage(`Gas Town: beads synced (version ${views.beads.version ?? "?"})`, 4000);
}

/** New settings that the server reads at start: offer a restart. */
export function offerRestartOnSettings(restart: () => Promise<void>): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration(async (e) => {
    if (!RESTART_KEYS.some((k) => e.affectsConfiguration(`gastown.${k}`))) return;
    const pick = await vscode.window.showInformationMessage(
      "Gas Town: settings changed. Restart the server to apply them?",
      "Restart Server",
    );
    if (pick) await restart();
  });
}
