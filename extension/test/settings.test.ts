import { describe, expect, it } from "vitest";
import { choosePython } from "../src/python";
import { initializationOptions, readSettings } from "../src/settings";

const config = (values: Record<string, unknown>) => ({
  get: <T>(key: string) => values[key] as T | undefined,
});

describe("readSettings", () => {
  it("maps the settings and drops blank strings", () => {
    const s = readSettings(
      config({
        "server.pythonPath": "  ",
        "provider.type": "openai",
        "provider.baseUrl": "http://127.0.0.1:9/v1",
        "provider.model": "scripted",
        "copilot.cliPath": "",
      }),
    );
    expect(s.pythonPath).toBeUndefined();
    expect(s.cliPath).toBeUndefined();
    expect(initializationOptions(s)).toEqual({
      provider: { type: "openai", baseUrl: "http://127.0.0.1:9/v1", model: "scripted" },
    });
  });

  it("leaves unset values out, so the server keeps its defaults", () => {
    const s = readSettings(config({ "copilot.cliPath": "/x/copilot" }));
    // Never `model: null`: the server would reject it.
    expect(initializationOptions(s)).toEqual({ provider: { type: "copilot" }, cliPath: "/x/copilot" });
  });

  it("falls back to copilot for an unknown provider type", () => {
    expect(readSettings(config({ "provider.type": "bogus" })).provider.type).toBe("copilot");
  });
});

describe("choosePython", () => {
  const base = {
    setting: undefined as string | undefined,
    fromPythonExtension: async () => undefined as string | undefined,
    workspaceFolder: "/ws",
    exists: (_: string) => false,
  };

  it("prefers the setting over everything", async () => {
    const found = await choosePython({ ...base, setting: "/opt/py", fromPythonExtension: async () => "/ext/py" });
    expect(found).toEqual({ path: "/opt/py", source: "setting" });
  });

  it("then the Python extension, then the workspace venv, then python3", async () => {
    expect(await choosePython({ ...base, fromPythonExtension: async () => "/ext/py" })).toEqual({
      path: "/ext/py",
      source: "python-extension",
    });
    const venv = await choosePython({ ...base, exists: (p) => p === "/ws/.venv/bin/python" });
    expect(venv).toEqual({ path: "/ws/.venv/bin/python", source: "workspace-venv" });
    expect((await choosePython(base)).path).toBe("python3");
  });

  it("survives a failing Python extension", async () => {
    const found = await choosePython({
      ...base,
      fromPythonExtension: async () => {
        throw new Error("not activated");
      },
    });
    expect(found.source).toBe("path");
  });
});
