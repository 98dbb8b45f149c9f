// The notifications for problems.ts's problems and for a Python that cannot run the server, each with
// the action that fixes it. Setting a path through an action restarts the server at once.
import * as vscode from "vscode";
import { type Problem, problemIn, problemMessage, shouldTell } from "./problems";

const COPY = "Copy Command";
const SET_CLI = "Set Path…";
const BYOK = "Open BYOK Settings";
const SET_PYTHON = "Set Python Path…";
const OPEN_LOG = "Open Town Log";

export interface NoticeDeps {
  output: vscode.OutputChannel;
  /** Set a `gastown.*` setting (user scope) and restart the server without asking. */
  setAndRestart(key: string, value: string): Promise<void>;
}

export class ProblemNotices {
  private readonly lastTold = new Map<string, number>();

  constructor(private readonly deps: NoticeDeps) {}

  /** Show `text` as a problem's notification when it is one; false when it is not (the caller shows it). */
  tell(text: string): boolean {
    const problem = problemIn(text);
    if (!problem) return false;
    this.deps.output.appendLine(text);
    if (shouldTell(problem, Date.now(), this.lastTold)) void this.show(problem);
    return true;
  }

  private async show(problem: Problem): Promise<void> {
    const message = problemMessage(problem);
    if (problem.kind === "cli-missing") {
      const pick = await vscode.window.showErrorMessage(message, COPY, SET_CLI);
      if (pick === COPY) {
        await vscode.env.clipboard.writeText(problem.installCommand);
        void vscode.window.setStatusBarMessage(`Copied: ${problem.installCommand}`, 5000);
      } else if (pick === SET_CLI) {
        await this.pickPath("cliPath", "Copilot CLI");
      }
    } else {
      const pick = await vscode.window.showErrorMessage(message, BYOK);
      if (pick === BYOK) await vscode.commands.executeCommand("workbench.action.openSettings", "gastown.provider");
    }
  }

  /** The Python found cannot run the server (too old, no venv module, no wheels for it). */
  async pythonProblem(text: string): Promise<void> {
    const pick = await vscode.window.showErrorMessage(`Gas Town: ${text}`, SET_PYTHON, OPEN_LOG);
    if (pick === SET_PYTHON) await this.pickPath("server.pythonPath", "Python 3.11 or newer");
    else if (pick === OPEN_LOG) this.deps.output.show(true);
  }

  private async pickPath(key: string, what: string): Promise<void> {
    const picked = await vscode.window.showOpenDialog({
      title: `Gas Town: the ${what} (gastown.${key})`,
      canSelectFiles: true,
      canSelectFolders: false,
      canSelectMany: false,
      openLabel: "Use",
    });
    const path = picked?.[0]?.fsPath;
    if (path) await this.deps.setAndRestart(key, path);
  }
}
