// The extension's settings (contributes.configuration in package.json), read in one place, and what the
// server gets from them as LSP initializationOptions (the server's camelCase aliases, see
// server/gastown/config.py). Town settings are sent only when the user set them, so the server keeps its
// own defaults otherwise; a null would fail the server's validation.
import * as vscode from "vscode";

export type ProviderType = "copilot" | "openai" | "azure" | "anthropic";
export type LogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR";

/** Town settings as the server names them (initializationOptions keys). */
export interface TownOptions {
  maxPolecats?: number;
  verifyCommand?: string;
  autoMerge?: boolean;
  planApproval?: boolean;
  turnTimeout?: number;
  verifyTimeout?: number;
  reworkAttempts?: number;
  maxPlanSize?: number;
  conflictRadar?: "hold" | "serialize" | "off";
  mergeBatchSize?: number;
  reviewAgent?: boolean;
  autoLand?: boolean;
  polecats?: {
    stallSeconds?: number;
    maxRestarts?: number;
    budget?: { tokensPerBead?: number; tokensPerGoal?: number; secondsPerBead?: number; secondsPerGoal?: number };
  };
}

export interface Settings {
  pythonPath: string | undefined;
  logLevel: LogLevel;
  provider: { type: ProviderType; baseUrl: string | undefined; model: string | undefined };
  cliPath: string | undefined;
  town: TownOptions;
  /** Settings that were set but not valid (left out, so the server keeps its default). */
  problems: string[];
}

/** The subset of vscode.WorkspaceConfiguration we use (so tests can pass a plain object). */
export interface ConfigLike {
  get<T>(key: string): T | undefined;
  inspect?<T>(key: string):
    | { globalValue?: T; workspaceValue?: T; workspaceFolderValue?: T; defaultValue?: T }
    | undefined;
}

const PROVIDERS: readonly ProviderType[] = ["copilot", "openai", "azure", "anthropic"];
const LEVELS: readonly LogLevel[] = ["DEBUG", "INFO", "WARNING", "ERROR"];

/** Setting key (under `gastown.`) -> server key, kind and bounds. */
const TOWN_KEYS: ReadonlyArray<{
  setting: string;
  /** The server's key; a dotted path for nested settings (e.g. polecats.budget.tokensPerBead). */
  option: string;
  kind: "int" | "number" | "boolean" | "string";
  min?: number;
  max?: number;
  values?: readonly string[];
}> = [
  { setting: "maxPolecats", option: "maxPolecats", kind: "int", min: 1, max: 64 },
  { setting: "verifyCommand", option: "verifyCommand", kind: "string" },
  { setting: "autoMerge", option: "autoMerge", kind: "boolean" },
  { setting: "planApproval", option: "planApproval", kind: "boolean" },
  { setting: "budgets.turnTimeoutSeconds", option: "turnTimeout", kind: "number", min: 1 },
  { setting: "budgets.verifyTimeoutSeconds", option: "verifyTimeout", kind: "number", min: 1 },
  { setting: "budgets.reworkAttempts", option: "reworkAttempts", kind: "int", min: 0, max: 10 },
  { setting: "budgets.maxPlanSize", option: "maxPlanSize", kind: "int", min: 1, max: 200 },
  { setting: "budgets.tokensPerBead", option: "polecats.budget.tokensPerBead", kind: "int", min: 0 },
  { setting: "budgets.tokensPerGoal", option: "polecats.budget.tokensPerGoal", kind: "int", min: 0 },
  { setting: "budgets.secondsPerBead", option: "polecats.budget.secondsPerBead", kind: "number", min: 0 },
  { setting: "budgets.secondsPerGoal", option: "polecats.budget.secondsPerGoal", kind: "number", min: 0 },
  { setting: "witness.stallSeconds", option: "polecats.stallSeconds", kind: "number", min: 1 },
  { setting: "witness.maxRestarts", option: "polecats.maxRestarts", kind: "int", min: 0, max: 10 },
  { setting: "conflictRadar", option: "conflictRadar", kind: "string", values: ["hold", "serialize", "off"] },
  { setting: "mergeBatchSize", option: "mergeBatchSize", kind: "int", min: 1, max: 64 },
  { setting: "reviewAgent", option: "reviewAgent", kind: "boolean" },
  { setting: "autoLand", option: "autoLand", kind: "boolean" },
];

/** Set a dotted path in a nested options object. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node = (node[part] ??= {}) as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

/** The settings keys (under `gastown.`) whose change needs a server restart. */
export const RESTART_KEYS = [
  "server.pythonPath",
  "server.logLevel",
  "provider",
  "copilot.cliPath",
  ...TOWN_KEYS.map((k) => k.setting),
];

function text(config: ConfigLike, key: string): string | undefined {
  const value = config.get<string>(key);
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** The value the user set in some scope (undefined when only the default applies). */
function explicit(config: ConfigLike, key: string): unknown {
  if (config.inspect) {
    const i = config.inspect<unknown>(key);
    const v = i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
    return v === null ? undefined : v;
  }
  const v = config.get<unknown>(key);
  return v === null ? undefined : v;
}

export function readSettings(config: ConfigLike = vscode.workspace.getConfiguration("gastown")): Settings {
  const type = config.get<string>("provider.type");
  const level = String(config.get<string>("server.logLevel") ?? "WARNING").toUpperCase();
  const problems: string[] = [];
  const town: TownOptions = {};
  for (const k of TOWN_KEYS) {
    const value = explicit(config, k.setting);
    if (value === undefined) continue;
    const bad = () => problems.push(`gastown.${k.setting}: ${JSON.stringify(value)} is not valid; using the server's default`);
    if (k.kind === "boolean") {
      if (typeof value === "boolean") setPath(town as Record<string, unknown>, k.option, value);
      else bad();
    } else if (k.kind === "string") {
      if (typeof value === "string" && (!k.values || k.values.includes(value.trim()))) {
        if (value.trim()) setPath(town as Record<string, unknown>, k.option, value.trim());
      } else bad();
    } else {
      const ok =
        typeof value === "number" &&
        Number.isFinite(value) &&
        (k.kind !== "int" || Number.isInteger(value)) &&
        (k.min === undefined || value >= k.min) &&
        (k.max === undefined || value <= k.max);
      if (ok) setPath(town as Record<string, unknown>, k.option, value);
      else bad();
    }
  }
  return {
    pythonPath: text(config, "server.pythonPath"),
    logLevel: LEVELS.includes(level as LogLevel) ? (level as LogLevel) : "WARNING",
    provider: {
      type: PROVIDERS.includes(type as ProviderType) ? (type as ProviderType) : "copilot",
      baseUrl: text(config, "provider.baseUrl"),
      model: text(config, "provider.model"),
    },
    cliPath: text(config, "copilot.cliPath"),
    town,
    problems,
  };
}

/**
 * What the server gets as LSP initializationOptions; unset values are left out (the server's defaults).
 * The API key (from SecretStorage) goes in `provider.apiKey` and nowhere else.
 */
export function initializationOptions(settings: Settings, apiKey?: string) {
  const provider: { type: ProviderType; baseUrl?: string; model?: string; apiKey?: string } = {
    type: settings.provider.type,
  };
  if (settings.provider.baseUrl) provider.baseUrl = settings.provider.baseUrl;
  if (settings.provider.model) provider.model = settings.provider.model;
  if (apiKey) provider.apiKey = apiKey;
  const options: { provider: typeof provider; cliPath?: string } & TownOptions = { provider, ...(settings.town ?? {}) };
  if (settings.cliPath) options.cliPath = settings.cliPath;
  return options;
}

/** The server's environment: GASTOWN_LOG keeps pygls from logging every JSON-RPC message at INFO. */
export function serverEnv(settings: Settings, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, GASTOWN_LOG: settings.logLevel };
}

/** The SecretStorage key of the provider's API key. */
export const API_KEY_SECRET = "gastown.provider.apiKey";
