// Pull requests of the goals (github.landing): the epic row's description shows its pull request ("#12 open ·
// checks passed"), **Open PR** opens it; the GitHub token (VS Code's GitHub sign-in, or a token kept in
// SecretStorage) is handed to the server in memory with gastown/githubToken and is never logged.
import * as vscode from "vscode";
import { Methods } from "./contracts";
import { errorText } from "./errors";
import type { PullRequestStatus, PullRequestsResult } from "./protocol";

export const GITHUB_TOKEN_SECRET = "gastown.githubToken";
export const OPEN_PR = "gastown.openPullRequest";
export const SIGN_IN = "gastown.signInToGitHub";
const SCOPES = ["repo"];

const CHECKS: Record<NonNullable<PullRequestStatus["checks"]>, string> = {
  success: "checks passed",
  failure: "checks failed",
  pending: "checks pending",
  none: "no checks yet",
  timeout: "checks pending too long",
};

/** "#12 open · checks passed" (the epic row's addition). */
export function prLabel(status: PullRequestStatus): string {
  const state = status.state ?? "open";
  if (state !== "open") return `#${status.number} ${state}`;
  return `#${status.number} open · ${CHECKS[status.checks ?? "pending"]}`;
}

/** What the model needs of a running server (a seam for tests). */
export interface PullRequestServer {
  sendRequest<R>(method: string, params: unknown): Promise<R>;
  onNotification(method: string, handler: (params: PullRequestStatus) => void): { dispose(): void };
}

/** The epics' pull requests, as the server last said (pr-per-bead: the newest pull request of the epic). */
export class PullRequests implements vscode.Disposable {
  private readonly byEpic = new Map<string, PullRequestStatus>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private subscription: { dispose(): void } | undefined;

  /** A (re)started server: hand over the token, fetch the pull requests, follow their changes. */
  async attach(server: PullRequestServer, token: string | undefined): Promise<void> {
    this.subscription?.dispose();
    this.subscription = server.onNotification(Methods.pullRequestChanged, (s) => this.set(s));
    if (token) await server.sendRequest(Methods.githubToken, { token });
    const result = await server.sendRequest<PullRequestsResult>(Methods.pullRequests, { refresh: false });
    this.byEpic.clear();
    for (const status of result.pull_requests) this.byEpic.set(status.epic_id, status);
    this.changed.fire();
  }

  set(status: PullRequestStatus): void {
    this.byEpic.set(status.epic_id, status);
    this.changed.fire();
  }

  get(epicId: string): PullRequestStatus | undefined {
    return this.byEpic.get(epicId);
  }

  describe(epicId: string): string | undefined {
    const status = this.byEpic.get(epicId);
    return status ? prLabel(status) : undefined;
  }

  dispose(): void {
    this.subscription?.dispose();
    this.changed.dispose();
  }
}

/** The token to hand over: one the user stored with Sign In, else VS Code's GitHub session if there is one. */
export async function editorToken(secrets: vscode.SecretStorage): Promise<string | undefined> {
  const stored = await Promise.resolve(secrets.get(GITHUB_TOKEN_SECRET)).catch(() => undefined);
  if (stored) return stored;
  try {
    const session = await vscode.authentication.getSession("github", SCOPES, { silent: true });
    return session?.accessToken;
  } catch {
    return undefined;
  }
}

/** Open PR (an epic row's inline action or the palette) and Sign In to GitHub. */
export function registerPullRequestCommands(
  pulls: PullRequests,
  secrets: vscode.SecretStorage,
  server: () => Promise<PullRequestServer>,
  output: vscode.OutputChannel,
): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(OPEN_PR, async (arg?: string | { bead?: { id: string } }) => {
      const epicId = typeof arg === "string" ? arg : arg?.bead?.id;
      const status = epicId ? pulls.get(epicId) : undefined;
      if (!status) {
        void vscode.window.showInformationMessage(
          "Gas Town: this goal has no pull request yet (set gastown.github.landing to pr, or run `gastown land --pr`).",
        );
        return;
      }
      await vscode.env.openExternal(vscode.Uri.parse(status.url));
    }),
    vscode.commands.registerCommand(SIGN_IN, async () => {
      let token: string | undefined;
      try {
        token = (await vscode.authentication.getSession("github", SCOPES, { createIfNone: true }))?.accessToken;
      } catch (err) {
        output.appendLine(`GitHub sign-in through VS Code did not work: ${errorText(err)}`);
      }
      if (!token) {
        token = await vscode.window.showInputBox({
          title: "Gas Town: GitHub token",
          prompt: "A token with repo access (kept in VS Code's secret storage)",
          password: true,
          ignoreFocusOut: true,
        });
        if (!token) return;
        await secrets.store(GITHUB_TOKEN_SECRET, token);
      }
      try {
        await (await server()).sendRequest(Methods.githubToken, { token });
        void vscode.window.showInformationMessage("Gas Town: signed in to GitHub.");
      } catch (err) {
        void vscode.window.showErrorMessage(`Gas Town: the server did not take the token: ${errorText(err)}`);
      }
    }),
  ];
}
