// Palette commands. Each waits for the server connection, so it works right after activation.
import * as vscode from "vscode";
import type { TownApi } from "./client";
import type { BeadsTreeProvider } from "./views/beads";

export function registerCommands(
  town: () => Promise<TownApi>,
  beads: BeadsTreeProvider,
): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand("gastown.submitGoal", (goal?: string) => submitGoal(town, goal)),
    vscode.commands.registerCommand("gastown.refreshBeads", () => beads.refresh()),
  ];
}

/** Ask for a goal (unless given), send gastown/submitGoal, report the epic. Returns the result. */
export async function submitGoal(town: () => Promise<TownApi>, given?: string) {
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
    void vscode.window.showErrorMessage(`Gas Town: submitting the goal failed: ${errorText(err)}`);
    return undefined;
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
