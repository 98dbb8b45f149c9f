// The connection to the town's server across its lifetime: start, restart (the command, or new settings),
// stop. Views and commands subscribe here once; the events outlive any one language client.
import * as vscode from "vscode";
import { type TownApi, TownClient } from "./client";
import type { AgentEventNote, AgentStatus, BeadsChanged } from "./protocol";
import { BootstrapError } from "./bootstrap";
import { errorText } from "./errors";
import type { ProblemNotices } from "./problemNotices";
import { findPython, preparePython, type ServerStorage } from "./python";
import { API_KEY_SECRET, readSettings } from "./settings";

export { errorText };

export class Town implements vscode.Disposable {
  private client: TownClient | undefined;
  private current: Promise<TownClient | undefined> | undefined;
  private readonly emitters = {
    beadsChanged: new vscode.EventEmitter<BeadsChanged>(),
    agentStatus: new vscode.EventEmitter<AgentStatus>(),
    agentEvent: new vscode.EventEmitter<AgentEventNote>(),
    running: new vscode.EventEmitter<TownApi>(),
  };
  readonly onBeadsChanged = this.emitters.beadsChanged.event;
  readonly onAgentStatus = this.emitters.agentStatus.event;
  readonly onAgentEvent = this.emitters.agentEvent.event;
  /** Fired each time a server (re)starts and answers. */
  readonly onRunning = this.emitters.running.event;

  /** Set by extension.ts once the notices exist (they restart this town). */
  notices: ProblemNotices | undefined;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    readonly output: vscode.OutputChannel,
    private readonly storage: ServerStorage,
  ) {}

  /** Start the server if it is not running (or starting). Never rejects; failures are logged and shown. */
  start(): Promise<TownClient | undefined> {
    if (!this.current) {
      this.current = this.launch();
      this.current.catch(() => {});
    }
    return this.current.catch(() => undefined);
  }

  private async launch(): Promise<TownClient | undefined> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      this.output.appendLine("No workspace folder open: Gas Town needs a git repository to manage.");
      return undefined;
    }
    const apiKey = await Promise.resolve(this.secrets.get(API_KEY_SECRET)).catch(() => undefined);
    const settings = readSettings();
    try {
      const found = await findPython(settings.pythonPath, folder.uri);
      const began = Date.now();
      const python = await preparePython(found, this.storage);
      if (python.how === "created-private-env") {
        this.output.appendLine(
          `Created the server's private environment from the bundled wheels in ${((Date.now() - began) / 1000).toFixed(1)} s: ${python.python}`,
        );
      }
      const client = await TownClient.start(settings, folder, this.output, apiKey, {
        beadsChanged: (d) => this.emitters.beadsChanged.fire(d),
        agentStatus: (s) => this.emitters.agentStatus.fire(s),
        agentEvent: (e) => this.emitters.agentEvent.fire(e),
        running: () => {
          if (this.client) this.emitters.running.fire(this.client);
        },
        message: (text) => this.notices?.tell(text) ?? false,
      }, found, python);
      this.client = client;
      this.emitters.running.fire(client);
      return client;
    } catch (err) {
      this.output.appendLine(`Gas Town server did not start: ${errorText(err)}`);
      if (err instanceof BootstrapError && this.notices) {
        void this.notices.pythonProblem(errorText(err));
        throw err;
      }
      if (this.notices?.tell(errorText(err))) throw err;
      void vscode.window.showErrorMessage(`Gas Town: the server did not start: ${errorText(err)}`, "Open Town Log").then(
        (pick) => pick && this.output.show(true),
      );
      throw err;
    }
  }

  /** The running server, starting it if needed; rejects with a readable reason when there is none. */
  async api(): Promise<TownApi> {
    const started = this.current ?? this.start();
    let client: TownClient | undefined;
    try {
      client = await started;
    } catch (err) {
      throw new Error(`the Gas Town server is not running (${errorText(err)}); try "Gas Town: Restart Server"`);
    }
    if (!client) throw new Error("no workspace folder is open");
    return client;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const pending = this.current;
    this.current = undefined;
    const client = this.client ?? (await pending?.catch(() => undefined));
    this.client = undefined;
    if (client) {
      try {
        await client.stop();
      } catch (err) {
        this.output.appendLine(`stopping the server: ${errorText(err)}`);
      }
    }
  }

  dispose(): void {
    void this.stop();
    for (const e of Object.values(this.emitters)) e.dispose();
  }
}
