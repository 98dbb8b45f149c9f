// Which Python runs `gastown serve`: the setting, then the Python extension's interpreter (if that
// extension happens to be installed; it is never a dependency), then <workspace>/.venv/bin/python,
// then python3 from PATH.
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";

export interface PythonSource {
  setting: string | undefined;
  /** The Python extension's active interpreter, or undefined when it is absent or has none. */
  fromPythonExtension: () => Promise<string | undefined>;
  workspaceFolder: string | undefined;
  exists: (path: string) => boolean;
}

export interface FoundPython {
  path: string;
  source: "setting" | "python-extension" | "workspace-venv" | "path";
}

export async function choosePython(src: PythonSource): Promise<FoundPython> {
  if (src.setting) return { path: src.setting, source: "setting" };
  try {
    const fromExt = await src.fromPythonExtension();
    if (fromExt) return { path: fromExt, source: "python-extension" };
  } catch {
    // The Python extension is optional; any failure there falls through.
  }
  if (src.workspaceFolder) {
    const venv = join(src.workspaceFolder, ".venv", "bin", "python");
    if (src.exists(venv)) return { path: venv, source: "workspace-venv" };
  }
  return { path: "python3", source: "path" };
}

interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
  };
  settings?: {
    getExecutionDetails(resource?: vscode.Uri): { execCommand: string[] | undefined };
  };
}

/** Ask ms-python.python for its interpreter, without depending on it. */
export async function pythonFromExtension(resource: vscode.Uri | undefined): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (!ext) return undefined;
  const api = ext.isActive ? ext.exports : await ext.activate();
  const env = api?.environments?.getActiveEnvironmentPath(resource);
  if (env?.path) return env.path;
  const exec = api?.settings?.getExecutionDetails(resource)?.execCommand;
  return exec && exec.length > 0 ? exec[0] : undefined;
}

export function findPython(setting: string | undefined, folder: vscode.Uri | undefined): Promise<FoundPython> {
  return choosePython({
    setting,
    fromPythonExtension: () => pythonFromExtension(folder),
    workspaceFolder: folder?.fsPath,
    exists: existsSync,
  });
}
