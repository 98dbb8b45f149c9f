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

/** Settings the extension itself is changing, and restarting for: no "Restart?" question for those. */
const settingByUs = new Set<string>();

/** Set a `gastown.*` setting for the user (a path picked in a notification) and restart the server. */
export async function setAndRestart(key: string, value: string, restart: () => Promise<void>): Promise<void> {
  settingByUs.add(key);
  try {
    await vscode.workspace.getConfiguration("gastown").update(key, value, vscode.ConfigurationTarget.Global);
  } finally {
    // The change event has been delivered by now; a later change by the user asks again.
    setTimeout(() => settingByUs.delete(key), 1000);
  }
  await restart();
}

/** New settings that the server reads at start: offer a restart. */
export function offerRestartOnSettings(restart: () => Promise<void>): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration(async (e) => {
    const changed = RESTART_KEYS.filter((k) => e.affectsConfiguration(`gastown.${k}`));
    if (changed.length === 0 || changed.every((k) => settingByUs.has(k))) return;
    const pick = await vscode.window.showInformationMessage(
      "Gas Town: settings changed. Restart the server to apply them?",
      "Restart Server",
    );
    if (pick) await restart();
  });
}
