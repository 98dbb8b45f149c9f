import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type BootstrapEffects, BootstrapError, type RunResult, serverPython, venvPython } from "../src/bootstrap";

/** A machine in memory: files, directories, and what each command answers. */
function machine(answers: (cmd: string, args: string[]) => RunResult) {
  const files = new Map<string, string>();
  const dirs = new Set<string>(["/ext/bundled/wheels"]);
  const ran: string[][] = [];
  const progress: string[] = [];
  const fx: BootstrapEffects = {
    exists: (p) => files.has(p) || dirs.has(p),
    readText: (p) => files.get(p),
    writeText: (p, t) => void files.set(p, t),
    removeDir: (p) => {
      for (const k of [...files.keys()]) if (k.startsWith(p + "/")) files.delete(k);
      dirs.delete(p);
    },
    listDir: (p) => [...dirs].filter((d) => d.startsWith(p + "/") && !d.slice(p.length + 1).includes("/")).map((d) => d.slice(p.length + 1)),
    run: async (cmd, args) => {
      ran.push([cmd, ...args]);
      const result = answers(cmd, args);
      if (result.code === 0 && args[0] === "-m" && args[1] === "venv") {
        dirs.add(args[2]);
        files.set(venvPython(args[2]), "");
      }
      return result;
    },
    progress: async (title, work) => {
      progress.push(title);
      return work();
    },
  };
  return { fx, files, dirs, ran, progress };
}

const ok = (stdout = ""): RunResult => ({ code: 0, stdout, stderr: "" });
const WHEELS = "/ext/bundled/wheels";
const STORE = "/store";
const ENV = join(STORE, "server-0.1.0-py311");
const PY = venvPython(ENV);

/** python3 is 3.11 without gastown; venv and pip succeed unless told otherwise. */
function python311(over: { venv?: RunResult; pip?: RunResult; probe?: RunResult } = {}) {
  return machine((cmd, args) => {
    if (args[0] === "-c") return over.probe ?? ok("3.11 no\n");
    if (args[1] === "venv") return over.venv ?? ok();
    if (cmd.startsWith(STORE) && args[1] === "pip") return over.pip ?? ok();
    throw new Error(`unexpected ${cmd} ${args.join(" ")}`);
  });
}

describe("serverPython", () => {
  it("uses a Python that already imports gastown as it is", async () => {
    const m = python311({ probe: ok("3.12 yes\n") });
    expect(await serverPython("/venv/bin/python", WHEELS, STORE, "0.1.0", m.fx)).toEqual({
      python: "/venv/bin/python",
      how: "has-gastown",
    });
    expect(m.ran).toHaveLength(1);
  });

  it("creates the private environment from the bundled wheels, offline, and stamps it", async () => {
    const m = python311();
    expect(await serverPython("python3", WHEELS, STORE, "0.1.0", m.fx)).toEqual({ python: PY, how: "created-private-env" });
    expect(m.ran[1]).toEqual(["python3", "-m", "venv", ENV]);
    const pip = m.ran[2];
    expect(pip.slice(0, 3)).toEqual([PY, "-m", "pip"]);
    expect(pip).toContain("--no-index");
    expect(pip[pip.indexOf("--find-links") + 1]).toBe(WHEELS);
    expect(pip.at(-1)).toBe("gastown==0.1.0");
    expect(m.files.get(join(ENV, ".gastown-installed"))).toBe("0.1.0");
    expect(m.progress).toHaveLength(1);
  });

  it("reuses a stamped environment without running venv or pip again", async () => {
    const m = python311();
    await serverPython("python3", WHEELS, STORE, "0.1.0", m.fx);
    m.ran.length = 0;
    expect(await serverPython("python3", WHEELS, STORE, "0.1.0", m.fx)).toEqual({ python: PY, how: "private-env" });
    expect(m.ran).toHaveLength(1); // the probe only
  });

  it("never reuses an unstamped (interrupted) environment; a new version replaces the old ones", async () => {
    const m = python311();
    m.dirs.add(ENV);
    m.files.set(PY, ""); // a venv whose pip install never finished: no stamp
    expect((await serverPython("python3", WHEELS, STORE, "0.1.0", m.fx)).how).toBe("created-private-env");
    m.dirs.add(join(STORE, "server-0.1.0-py312")); // the same version on another Python: kept
    m.dirs.add(join(STORE, "notes"));
    const next = await serverPython("python3", WHEELS, STORE, "0.2.0", m.fx);
    expect(next).toEqual({ python: venvPython(join(STORE, "server-0.2.0-py311")), how: "created-private-env" });
    // The earlier version's environments are removed once the new one is made; other files are not touched.
    expect(m.dirs.has(ENV)).toBe(false);
    expect(m.dirs.has(join(STORE, "server-0.1.0-py312"))).toBe(false);
    expect(m.dirs.has(join(STORE, "server-0.2.0-py311")) && m.dirs.has(join(STORE, "notes"))).toBe(true);
  });

  it("refuses a Python older than 3.11, naming the version and the setting", async () => {
    const m = python311({ probe: ok("3.10 no\n") });
    const err = await serverPython("python3", WHEELS, STORE, "0.1.0", m.fx).catch((e) => e);
    expect(err).toBeInstanceOf(BootstrapError);
    expect(err.message).toMatch(/needs Python 3\.11 or newer; python3 is 3\.10.*gastown\.server\.pythonPath/);
    expect(m.ran).toHaveLength(1);
  });

  it("says so when the Python does not run at all", async () => {
    const m = python311({ probe: { code: 127, stdout: "", stderr: "spawn python3 ENOENT" } });
    await expect(serverPython("python3", WHEELS, STORE, "0.1.0", m.fx)).rejects.toThrow(
      /Python at python3 does not run \(spawn python3 ENOENT\).*Python 3\.11/,
    );
  });

  it("hints at python3-venv when the venv module is missing", async () => {
    const stderr = "The virtual environment was not created successfully because ensurepip is not available.";
    const m = python311({ venv: { code: 1, stdout: "", stderr } });
    await expect(serverPython("python3", WHEELS, STORE, "0.1.0", m.fx)).rejects.toThrow(/apt-get install python3-venv/);
    expect(m.files.has(join(ENV, ".gastown-installed"))).toBe(false);
  });

  it("removes the half-made environment when pip fails, and names the Python version", async () => {
    const m = python311({ pip: { code: 1, stdout: "", stderr: "ERROR: No matching distribution found for pydantic-core" } });
    const err = await serverPython("python3", WHEELS, STORE, "0.1.0", m.fx).catch((e) => e);
    expect(err).toBeInstanceOf(BootstrapError);
    expect(err.message).toMatch(/No matching distribution.*Python 3\.11/);
    expect(m.dirs.has(ENV)).toBe(false);
    expect(m.files.has(PY)).toBe(false);
  });

  it("says the build carries no wheels when bundled/wheels is absent", async () => {
    const m = python311();
    m.dirs.delete(WHEELS);
    await expect(serverPython("python3", WHEELS, STORE, "0.1.0", m.fx)).rejects.toThrow(/carries no server wheels/);
  });
});
