// The extension's settings (contributes.configuration in package.json), read in one place.
import * as vscode from "vscode";

export type ProviderType = "copilot" | "openai" | "azure" | "anthropic";

export interface Settings {
  pythonPath: string | undefined;
  provider: { type: ProviderType; baseUrl: string | undefined; model: string | undefined };
  cliPath: string | undefined;
}

/** The subset of vscode.WorkspaceConfiguration we use (so tests can pass a plain object). */
export interface ConfigLike {
  get<T>(key: string): T | undefined;
}

const PROVIDERS: readonly ProviderType[] = ["copilot", "openai", "azure", "anthropic"];

function text(config: ConfigLike, key: string): string | undefined {
  const value = config.get<string>(key);
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

export function readSettings(config: ConfigLike = vscode.workspace.getConfiguration("gastown")): Settings {
  const type = config.get<string>("provider.type");
  return {
    pythonPath: text(config, "server.pythonPath"),
    provider: {
      type: PROVIDERS.includes(type as ProviderType) ? (type as ProviderType) : "copilot",
      baseUrl: text(config, "provider.baseUrl"),
      model: text(config, "provider.model"),
    },
    cliPath: text(config, "copilot.cliPath"),
  };
}

/** What the server gets as LSP initializationOptions; unset values are left out (the server's defaults). */
export function initializationOptions(settings: Settings) {
  const provider: { type: ProviderType; baseUrl?: string; model?: string } = { type: settings.provider.type };
  if (settings.provider.baseUrl) provider.baseUrl = settings.provider.baseUrl;
  if (settings.provider.model) provider.model = settings.provider.model;
  return settings.cliPath ? { provider, cliPath: settings.cliPath } : { provider };
}
