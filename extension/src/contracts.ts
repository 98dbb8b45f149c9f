/* eslint-disable */
// GENERATED FILE - DO NOT EDIT.
// Made by `npm run gen:types` (extension/scripts/gen-types.mjs) from schemas/protocol.json and
// schemas/editor-settings.json, which `gastown schemas` generates from server/gastown/lsp/protocol.py and
// server/gastown/lsp/editor_settings.py (with server/gastown/config.py's Settings).

/** Every gastown/* request and notification. */
export const Methods = {
  abortAgent: "gastown/abortAgent",
  agentEvent: "gastown/agentEvent",
  agentStatus: "gastown/agentStatus",
  agents: "gastown/agents",
  answer: "gastown/answer",
  bead: "gastown/bead",
  beads: "gastown/beads",
  beadsChanged: "gastown/beadsChanged",
  convoys: "gastown/convoys",
  costs: "gastown/costs",
  diff: "gastown/diff",
  document: "gastown/document",
  formulas: "gastown/formulas",
  githubToken: "gastown/githubToken",
  nudge: "gastown/nudge",
  planDecision: "gastown/planDecision",
  pullRequestChanged: "gastown/pullRequestChanged",
  pullRequests: "gastown/pullRequests",
  retry: "gastown/retry",
  review: "gastown/review",
  runFormula: "gastown/runFormula",
  submitGoal: "gastown/submitGoal",
  updateBead: "gastown/updateBead",
} as const;

/** The server's workspace commands (workspace/executeCommand). */
export const ServerCommands = {
  createBead: "gastown.createBead",
} as const;

/** The columns of a BeadRow (gastown/beads answers each bead as an array of its BeadSummary's fields). */
export const BEAD_ROW = ["id", "title", "status", "priority", "issue_type", "parent", "assignee", "human"] as const;

/** How the extension reads one `gastown.*` setting and what it fills in the server's initializationOptions. */
export interface SettingSpec {
  /** Key under `gastown.`. */
  readonly setting: string;
  /** Dotted path in initializationOptions (absent: the extension's own setting). */
  readonly option?: string;
  /** `set`: sent only when the user set it; `always`: sent by the extension's own code; `never`: not sent. */
  readonly send: "set" | "always" | "never";
  readonly kind: "int" | "number" | "boolean" | "string";
  readonly min?: number;
  readonly exclusiveMin?: number;
  readonly max?: number;
  readonly values?: readonly string[];
}

/** Every `gastown.*` setting, in package.json's order. */
export const SETTINGS: readonly SettingSpec[] = [
  { setting: "server.pythonPath", send: "never", kind: "string" },
  { setting: "server.logLevel", send: "never", kind: "string", values: ["DEBUG", "INFO", "WARNING", "ERROR"] },
  { setting: "provider.type", option: "provider.type", send: "always", kind: "string", values: ["copilot", "openai", "azure", "anthropic"] },
  { setting: "provider.baseUrl", option: "provider.baseUrl", send: "always", kind: "string" },
  { setting: "provider.model", option: "provider.model", send: "always", kind: "string" },
  { setting: "cliPath", option: "cliPath", send: "always", kind: "string" },
  { setting: "maxPolecats", option: "maxPolecats", send: "set", kind: "int", min: 1, max: 64 },
  { setting: "verifyCommand", option: "verifyCommand", send: "set", kind: "string" },
  { setting: "autoMerge", option: "autoMerge", send: "set", kind: "boolean" },
  { setting: "planApproval", option: "planApproval", send: "set", kind: "boolean" },
  { setting: "turnTimeout", option: "turnTimeout", send: "set", kind: "number", exclusiveMin: 0 },
  { setting: "verifyTimeout", option: "verifyTimeout", send: "set", kind: "number", exclusiveMin: 0 },
  { setting: "reworkAttempts", option: "reworkAttempts", send: "set", kind: "int", min: 0, max: 10 },
  { setting: "maxPlanSize", option: "maxPlanSize", send: "set", kind: "int", min: 1, max: 200 },
  { setting: "polecats.budget.tokensPerBead", option: "polecats.budget.tokensPerBead", send: "set", kind: "int", min: 0 },
  { setting: "polecats.budget.tokensPerGoal", option: "polecats.budget.tokensPerGoal", send: "set", kind: "int", min: 0 },
  { setting: "polecats.budget.secondsPerBead", option: "polecats.budget.secondsPerBead", send: "set", kind: "number", min: 0 },
  { setting: "polecats.budget.secondsPerGoal", option: "polecats.budget.secondsPerGoal", send: "set", kind: "number", min: 0 },
  { setting: "polecats.stallSeconds", option: "polecats.stallSeconds", send: "set", kind: "number", exclusiveMin: 0 },
  { setting: "polecats.maxRestarts", option: "polecats.maxRestarts", send: "set", kind: "int", min: 0, max: 10 },
  { setting: "polecats.sandbox", option: "polecats.sandbox", send: "set", kind: "string", values: ["auto", "required", "off"] },
  { setting: "polecats.needsInputTimeout", option: "polecats.needsInputTimeout", send: "set", kind: "number", exclusiveMin: 0 },
  { setting: "discoveredWork", option: "discoveredWork", send: "set", kind: "string", values: ["hold", "dispatch"] },
  { setting: "conflictRadar", option: "conflictRadar", send: "set", kind: "string", values: ["hold", "serialize", "off"] },
  { setting: "mergeBatchSize", option: "mergeBatchSize", send: "set", kind: "int", min: 1, max: 64 },
  { setting: "reviewAgent", option: "reviewAgent", send: "set", kind: "boolean" },
  { setting: "autoLand", option: "autoLand", send: "set", kind: "boolean" },
  { setting: "telemetry.exporter", option: "telemetry.exporter", send: "set", kind: "string", values: ["none", "otlp", "file"] },
  { setting: "telemetry.endpoint", option: "telemetry.endpoint", send: "set", kind: "string" },
  { setting: "telemetry.filePath", option: "telemetry.filePath", send: "set", kind: "string" },
  { setting: "github.landing", option: "github.landing", send: "set", kind: "string", values: ["local", "pr", "pr-per-bead"] },
  { setting: "github.autoLand", option: "github.autoLand", send: "set", kind: "boolean" },
  { setting: "github.remote", option: "github.remote", send: "set", kind: "string" },
  { setting: "github.apiUrl", option: "github.apiUrl", send: "set", kind: "string" },
];
