// The server's private Python environment. The .vsix carries the `gastown` wheel and every dependency's
// wheels (bundled/wheels, per platform and Python version); on first start the extension creates a venv in
// its global storage from the Python it found and installs from those wheels with `--no-index`: offline,
// nothing from the user's Pythons is touched. A Python that already imports `gastown` (a checkout with
// `pip install -e .`) is used as it is. Pure logic over injected effects, so it is tested without VS Code.
import { join } from "node:path";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface BootstrapEffects {
  exists(path: string): boolean;
  readText(path: string): string | undefined;
  writeText(path: string, text: string): void;
  removeDir(path: string): void;
  /** Names in a directory ([] when it does not exist). */
  listDir(path: string): string[];
  run(cmd: string, args: string[]): Promise<RunResult>;
  /** Shown while the environment is created (a minute at most, once per version). */
  progress<T>(title: string, work: () => Promise<T>): Promise<T>;
}

export interface ServerPython {
  python: string;
  how: "has-gastown" | "private-env" | "created-private-env";
}

export class BootstrapError extends Error {}

export const MIN_PYTHON: [number, number] = [3, 11];

export function venvPython(envDir: string, platform: string = process.platform): string {
  return platform === "win32" ? join(envDir, "Scripts", "python.exe") : join(envDir, "bin", "python");
}

/** "3.11" from `python -c` output; undefined when it did not run. */
export function parseVersion(out: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(out.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export async function serverPython(
  basePython: string,
  wheelsDir: string,
  storageDir: string,
  version: string,
  fx: BootstrapEffects,
): Promise<ServerPython> {
  const probe = await fx.run(basePython, [
    "-c",
    "import sys\ntry:\n import gastown; g='yes'\nexcept Exception: g='no'\nprint('%d.%d %s' % (sys.version_info[0], sys.version_info[1], g))",
  ]);
  if (probe.code !== 0) {
    throw new BootstrapError(
      `Python at ${basePython} does not run (${probe.stderr.trim() || `exit ${probe.code}`}): ` +
        "install Python 3.11 or newer, or set gastown.server.pythonPath",
    );
  }
  const [ver, hasGastown] = probe.stdout.trim().split(" ");
  if (hasGastown === "yes") return { python: basePython, how: "has-gastown" };
  const parsed = parseVersion(ver ?? "");
  if (!parsed || parsed[0] < MIN_PYTHON[0] || (parsed[0] === MIN_PYTHON[0] && parsed[1] < MIN_PYTHON[1])) {
    throw new BootstrapError(
      `Gas Town needs Python ${MIN_PYTHON.join(".")} or newer; ${basePython} is ${ver}. ` +
        "Install a newer Python or set gastown.server.pythonPath.",
    );
  }
  if (!fx.exists(wheelsDir)) {
    throw new BootstrapError(
      `${basePython} has no gastown package and this build carries no server wheels (${wheelsDir}). ` +
        "Install the .vsix for your platform, or `pip install gastown` into a Python and set gastown.server.pythonPath.",
    );
  }
  const envDir = join(storageDir, `server-${version}-py${parsed.join("")}`);
  const python = venvPython(envDir);
  const stamp = join(envDir, ".gastown-installed");
  if (fx.exists(python) && fx.readText(stamp)?.trim() === version) return { python, how: "private-env" };

  await fx.progress(`Gas Town: preparing its Python environment (once per version)`, async () => {
    fx.removeDir(envDir); // a half-made environment from an interrupted start is never reused
    const venv = await fx.run(basePython, ["-m", "venv", envDir]);
    if (venv.code !== 0) {
      const hint = /ensurepip|venv/.test(venv.stderr)
        ? " (on Debian/Ubuntu: sudo apt-get install python3-venv)"
        : "";
      throw new BootstrapError(`could not create ${envDir}: ${venv.stderr.trim()}${hint}`);
    }
    const pip = await fx.run(python, [
      "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
      "--find-links", wheelsDir, `gastown==${version}`,
    ]);
    if (pip.code !== 0) {
      fx.removeDir(envDir);
      throw new BootstrapError(
        `installing the server from ${wheelsDir} failed: ${pip.stderr.trim().split("\n").slice(-3).join(" ")}. ` +
          `This .vsix may not carry wheels for Python ${parsed.join(".")} on this platform.`,
      );
    }
    fx.writeText(stamp, version);
  });
  // Environments of earlier versions (~60 MB each) are never used again.
  for (const name of fx.listDir(storageDir)) {
    if (/^server-.+-py\d+$/.test(name) && !name.startsWith(`server-${version}-`)) fx.removeDir(join(storageDir, name));
  }
  return { python, how: "created-private-env" };
}
