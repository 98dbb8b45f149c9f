// Which Python runs `gastown serve`: the setting, then the Python extension's interpreter (if that
// extension happens to be installed; it is never a dependency), then <workspace>/.venv/bin/python,
// then python3 from PATH. A Python without gastown runs it from a private environment (bootstrap.ts).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";
import { type BootstrapEffects, type RunResult, type ServerPython, serverPython } from "./bootstrap";

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

/** Where the private environment lives and what it installs from (the extension's context). */
export interface ServerStorage {
  /** The extension's global storage (context.globalStorageUri). */
  storageDir: string;
  /** bundled/wheels inside the installed extension. */
  wheelsDir: string;
  /** The extension's version: the gastown wheel it carries has the same one. */
  version: string;
}

/** Node's side of bootstrap.ts: files, processes, and a progress notification. */
export function nodeEffects(): BootstrapEffects {
  return {
    exists: existsSync,
    readText: (path) => {
      try {
        return readFileSync(path, "utf8");
      } catch {
        return undefined;
      }
    },
    writeText: (path, text) => writeFileSync(path, text),
    removeDir: (path) => rmSync(path, { recursive: true, force: true }),
    listDir: (path) => {
      try {
        return readdirSync(path);
      } catch {
        return [];
      }
    },
    run: (cmd, args) =>
      new Promise<RunResult>((resolve) => {
        // The server's own environment, so "has gastown" means what it will mean for the server.
        execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 }, (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : 127) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && !stderr ? err.message : "") });
        });
      }),
    progress: (title, work) =>
      Promise.resolve(vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, work)),
  };
}

/** The Python that runs `gastown serve`: the one found if it has gastown, else the private environment. */
export async function preparePython(found: FoundPython, storage: ServerStorage): Promise<ServerPython> {
  mkdirSync(storage.storageDir, { recursive: true });
  return serverPython(found.path, storage.wheelsDir, storage.storageDir, storage.version, nodeEffects());
}
