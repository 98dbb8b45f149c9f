// The language client: runs `<python> -m gastown serve --stdio` in the workspace folder and offers the
// gastown/* methods typed with the generated protocol.
import * as vscode from "vscode";
import {
  DidChangeWatchedFilesNotification,
  FileChangeType,
  LanguageClient,
  MessageType,
  ShowMessageNotification,
  type LanguageClientOptions,
  type ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";
import type {
  AbortAgentParams,
  ActionResult,
  AnswerParams,
  AgentEventNote,
  AgentsResult,
  AgentStatus,
  BeadParams,
  BeadResult,
  BeadsChanged,
  BeadsParams,
  BeadsResult,
  ConvoysResult,
  CostsParams,
  CostsResult,
  DiffParams,
  DiffResult,
  DocumentParams,
  DocumentResult,
  NudgeParams,
  RetryParams,
  ReviewParams,
  ReviewResult,
  SubmitGoalParams,
  PlanDecisionParams,
  PlanDecisionResult,
  SubmitGoalResult,
  UpdateBeadParams,
} from "./protocol";
import { Methods } from "./contracts";
import type { FoundPython } from "./python";
import type { ServerPython } from "./bootstrap";
import { initializationOptions, serverEnv, type Settings } from "./settings";

export { Methods };

/** What the views and commands need from the server (a seam for tests). */
export interface TownApi {
  submitGoal(params: SubmitGoalParams): Promise<SubmitGoalResult>;
  beads(params?: BeadsParams): Promise<BeadsResult>;
  bead(params: BeadParams): Promise<BeadResult>;
  agents(): Promise<AgentsResult>;
  updateBead(params: UpdateBeadParams): Promise<BeadResult>;
  diff(params: DiffParams): Promise<DiffResult>;
  document(params: DocumentParams): Promise<DocumentResult>;
  review(params: ReviewParams): Promise<ReviewResult>;
  planDecision(params: PlanDecisionParams): Promise<PlanDecisionResult>;
  abortAgent(params: AbortAgentParams): Promise<unknown>;
  /** Answer the question of the polecat working a bead (it is in state needs-input). */
  answer(params: AnswerParams): Promise<ActionResult>;
  /** A message to the polecat working a bead, read at its next turn. */
  nudge(params: NudgeParams): Promise<ActionResult>;
  /** Send an escalated or blocked bead back to a polecat, with a note. */
  retry(params: RetryParams): Promise<ActionResult>;
  /** Tell the server the git-synced ledger copy changed, so it imports it (as after a git pull). */
  importLedger(): Promise<void>;
  /** Every convoy with its progress. */
  convoys(): Promise<ConvoysResult>;
  /** Tokens and time by goal, bead and role. */
  costs(params?: CostsParams): Promise<CostsResult>;
}

/** Notification handlers, set once per client. */
export interface TownHandlers {
  beadsChanged(delta: BeadsChanged): void;
  agentStatus(status: AgentStatus): void;
  agentEvent(note: AgentEventNote): void;
  /** The server (re)started and answers: views re-fetch. */
  running(): void;
  /** A window/showMessage the extension shows its own way (true); false: shown as VS Code would. */
  message?(text: string, type: MessageType): boolean;
}

export class TownClient implements TownApi {
  private constructor(
    readonly client: LanguageClient,
    private readonly folder: vscode.WorkspaceFolder,
  ) {}

  static async start(
    settings: Settings,
    folder: vscode.WorkspaceFolder,
    output: vscode.OutputChannel,
    apiKey: string | undefined,
    handlers: TownHandlers,
    found: FoundPython,
    python: ServerPython,
  ): Promise<TownClient> {
    const how = python.how === "has-gastown" ? "" : `, gastown from the ${python.how === "created-private-env" ? "new " : ""}private environment`;
    output.appendLine(
      `Starting: ${python.python} -m gastown serve (interpreter ${found.path} from ${found.source}${how}; GASTOWN_LOG=${settings.logLevel}) in ${folder.uri.fsPath}`,
    );
    for (const problem of settings.problems) output.appendLine(`Setting ignored: ${problem}`);
    const serverOptions: ServerOptions = {
      command: python.python,
      args: ["-m", "gastown", "serve"],
      // TransportKind.stdio appends --stdio to the argv; `gastown serve` accepts it.
      transport: TransportKind.stdio,
      options: { cwd: folder.uri.fsPath, env: serverEnv(settings) },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }],
      workspaceFolder: folder,
      outputChannel: output,
      initializationOptions: initializationOptions(settings, apiKey),
      synchronize: {
        // The git-synced ledger copy: the server re-imports it when git changes it underneath.
        fileEvents: vscode.workspace.createFileSystemWatcher(
          new vscode.RelativePattern(folder, ".beads/issues.jsonl"),
        ),
      },
    };
    const client = new LanguageClient("gastown", "Gas Town", serverOptions, clientOptions);
    client.onNotification(Methods.beadsChanged, handlers.beadsChanged);
    client.onNotification(Methods.agentStatus, handlers.agentStatus);
    client.onNotification(Methods.agentEvent, handlers.agentEvent);
    // Registered before start, so it replaces the client's default window/showMessage handler.
    client.onNotification(ShowMessageNotification.type, ({ type, message }) => {
      if (handlers.message?.(message, type)) return;
      if (type === MessageType.Error) void vscode.window.showErrorMessage(message);
      else if (type === MessageType.Warning) void vscode.window.showWarningMessage(message);
      else if (type === MessageType.Log) output.appendLine(message);
      else void vscode.window.showInformationMessage(message);
    });
    let started = false;
    client.onDidChangeState((e) => {
      // After the client restarts a crashed server, the views must fetch again.
      if (e.newState === State.Running && started) handlers.running();
    });
    await client.start();
    started = true;
    handlers.running();
    return new TownClient(client, folder);
  }

  private request<R>(method: string, params: unknown): Promise<R> {
    return this.client.sendRequest<R>(method, params);
  }

  submitGoal(params: SubmitGoalParams): Promise<SubmitGoalResult> {
    return this.request(Methods.submitGoal, params);
  }

  beads(params: BeadsParams = { filter: "all" }): Promise<BeadsResult> {
    return this.request(Methods.beads, params);
  }

  bead(params: BeadParams): Promise<BeadResult> {
    return this.request(Methods.bead, params);
  }

  agents(): Promise<AgentsResult> {
    return this.request(Methods.agents, {});
  }

  convoys(): Promise<ConvoysResult> {
    return this.request(Methods.convoys, {});
  }

  costs(params: CostsParams = {}): Promise<CostsResult> {
    return this.request(Methods.costs, params);
  }

  updateBead(params: UpdateBeadParams): Promise<BeadResult> {
    return this.request(Methods.updateBead, params);
  }

  diff(params: DiffParams): Promise<DiffResult> {
    return this.request(Methods.diff, params);
  }

  document(params: DocumentParams): Promise<DocumentResult> {
    return this.request(Methods.document, params);
  }

  review(params: ReviewParams): Promise<ReviewResult> {
    return this.request(Methods.review, params);
  }

  planDecision(params: PlanDecisionParams): Promise<PlanDecisionResult> {
    return this.request(Methods.planDecision, params);
  }

  abortAgent(params: AbortAgentParams): Promise<unknown> {
    return this.request(Methods.abortAgent, params);
  }

  answer(params: AnswerParams): Promise<ActionResult> {
    return this.request(Methods.answer, params);
  }

  nudge(params: NudgeParams): Promise<ActionResult> {
    return this.request(Methods.nudge, params);
  }

  retry(params: RetryParams): Promise<ActionResult> {
    return this.request(Methods.retry, params);
  }

  async importLedger(): Promise<void> {
    const uri = vscode.Uri.joinPath(this.folder.uri, ".beads", "issues.jsonl");
    await this.client.sendNotification(DidChangeWatchedFilesNotification.type, {
      changes: [{ uri: uri.toString(), type: FileChangeType.Changed }],
    });
  }

  stop(): Promise<void> {
    return this.client.stop();
  }
}
