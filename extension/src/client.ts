// The language client: runs `<python> -m gastown serve --stdio` in the workspace folder and offers the
// gastown/* methods typed with the generated protocol.
import * as vscode from "vscode";
import {
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";
import type {
  AgentsResult,
  AgentStatus,
  BeadsChanged,
  BeadsParams,
  BeadsResult,
  SubmitGoalParams,
  SubmitGoalResult,
} from "./protocol";
import { findPython } from "./python";
import { initializationOptions, type Settings } from "./settings";

export const Methods = {
  submitGoal: "gastown/submitGoal",
  beads: "gastown/beads",
  agents: "gastown/agents",
  beadsChanged: "gastown/beadsChanged",
  agentStatus: "gastown/agentStatus",
} as const;

/** What the views and commands need from the server (a seam for tests). */
export interface TownApi {
  submitGoal(params: SubmitGoalParams): Promise<SubmitGoalResult>;
  beads(params?: BeadsParams): Promise<BeadsResult>;
  agents(): Promise<AgentsResult>;
  onBeadsChanged(handler: (delta: BeadsChanged) => void): vscode.Disposable;
  onAgentStatus(handler: (status: AgentStatus) => void): vscode.Disposable;
}

export class TownClient implements TownApi {
  private constructor(readonly client: LanguageClient) {}

  static async start(settings: Settings, folder: vscode.WorkspaceFolder, output: vscode.OutputChannel) {
    const python = await findPython(settings.pythonPath, folder.uri);
    output.appendLine(`Starting: ${python.path} -m gastown serve (interpreter from ${python.source}) in ${folder.uri.fsPath}`);
    const serverOptions: ServerOptions = {
      command: python.path,
      args: ["-m", "gastown", "serve"],
      // TransportKind.stdio appends --stdio to the argv; `gastown serve` accepts it.
      transport: TransportKind.stdio,
      options: { cwd: folder.uri.fsPath, env: { ...process.env } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }],
      workspaceFolder: folder,
      outputChannel: output,
      initializationOptions: initializationOptions(settings),
      synchronize: {
        // The git-synced ledger copy: the server re-imports it when git changes it underneath.
        fileEvents: vscode.workspace.createFileSystemWatcher(
          new vscode.RelativePattern(folder, ".beads/issues.jsonl"),
        ),
      },
    };
    const client = new LanguageClient("gastown", "Gas Town", serverOptions, clientOptions);
    await client.start();
    return new TownClient(client);
  }

  submitGoal(params: SubmitGoalParams): Promise<SubmitGoalResult> {
    return this.client.sendRequest<SubmitGoalResult>(Methods.submitGoal, params);
  }

  beads(params: BeadsParams = { filter: "all" }): Promise<BeadsResult> {
    return this.client.sendRequest<BeadsResult>(Methods.beads, params);
  }

  agents(): Promise<AgentsResult> {
    return this.client.sendRequest<AgentsResult>(Methods.agents, {});
  }

  onBeadsChanged(handler: (delta: BeadsChanged) => void): vscode.Disposable {
    return this.client.onNotification(Methods.beadsChanged, handler);
  }

  onAgentStatus(handler: (status: AgentStatus) => void): vscode.Disposable {
    return this.client.onNotification(Methods.agentStatus, handler);
  }

  stop(): Promise<void> {
    return this.client.stop();
  }
}
