// The extension's settings, read in one place, and what the server gets from them as LSP
// initializationOptions. Which settings exist, their bounds and the server key each fills are generated
// from the server (SETTINGS in contracts.ts; package.json's contributes.configuration comes from the same
// table). Town settings are sent only when the user set them, so the server keeps its own defaults
// otherwise; a null would fail the server's validation.
import * as vscode from "vscode";
import { SETTINGS, type SettingSpec } from "./contracts";
import type { InitializationOptions, ProviderSettings } from "./protocol";

export type ProviderType = ProviderSettings["type"] & string;
export type LogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR";

/** Town settings as the server names them (initializationOptions keys, generated from its Settings model). */
export type TownOptions = Omit<InitializationOptions, "provider" | "cliPath">;

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

const spec = (key: string): SettingSpec => {
  const found = SETTINGS.find((s) => s.setting === key);
  if (!found) throw new Error(`no setting gastown.${key} in the generated contracts`);
  return found;
};
const PROVIDERS = spec("provider.type").values as readonly ProviderType[];
const LEVELS = spec("server.logLevel").values as readonly LogLevel[];

/** Settings sent only when the user set them (the server keeps its own defaults otherwise). */
const TOWN_KEYS = SETTINGS.filter((s) => s.send === "set" && s.option);

/** Whether a value the user set is one the server accepts (type, bounds, choices). */
export function validSetting(k: SettingSpec, value: unknown): boolean {
  if (k.kind === "boolean") return typeof value === "boolean";
  if (k.kind === "string") return typeof value === "string" && (!k.values || k.values.includes(value.trim()));
  return (
    typeof value === "number" &&
    Number.isFinite(value) &&
    (k.kind !== "int" || Number.isInteger(value)) &&
    (k.min === undefined || value >= k.min) &&
    (k.exclusiveMin === undefined || value > k.exclusiveMin) &&
    (k.max === undefined || value <= k.max)
  );
}

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
export const RESTART_KEYS: readonly string[] = SETTINGS.map((k) => k.setting);

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
    if (!validSetting(k, value)) {
      problems.push(`gastown.${k.setting}: ${JSON.stringify(value)} is not valid; using the server's default`);
    } else if (typeof value !== "string") {
      setPath(town as Record<string, unknown>, k.option!, value);
    } else if (value.trim()) {
      setPath(town as Record<string, unknown>, k.option!, value.trim());
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
    cliPath: text(config, "cliPath"),
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
  const options: InitializationOptions & { provider: typeof provider } = { provider, ...(settings.town ?? {}) };
  if (settings.cliPath) options.cliPath = settings.cliPath;
  return options;
}

/** The server's environment: GASTOWN_LOG keeps pygls from logging every JSON-RPC message at INFO. */
export function serverEnv(settings: Settings, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, GASTOWN_LOG: settings.logLevel };
}

/** The SecretStorage key of the provider's API key. */
export const API_KEY_SECRET = "gastown.provider.apiKey";
