import { describe, expect, it } from "vitest";
import { choosePython } from "../src/python";
import { initializationOptions, readSettings, serverEnv } from "../src/settings";

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
        "cliPath": "",
      }),
    );
    expect(s.pythonPath).toBeUndefined();
    expect(s.cliPath).toBeUndefined();
    expect(initializationOptions(s)).toEqual({
      provider: { type: "openai", baseUrl: "http://127.0.0.1:9/v1", model: "scripted" },
    });
  });

  it("leaves unset values out, so the server keeps its defaults", () => {
    const s = readSettings(config({ "cliPath": "/x/copilot" }));
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

describe("town settings in initializationOptions", () => {
  /** A configuration as VS Code has it: defaults from package.json, values set by the user. */
  const scoped = (set: Record<string, unknown>, defaults: Record<string, unknown> = {}) => ({
    get: <T>(key: string) => (key in set ? set[key] : defaults[key]) as T | undefined,
    inspect: <T>(key: string) => ({ defaultValue: defaults[key] as T, globalValue: set[key] as T | undefined }),
  });

  it("sends only what the user set, with the server's camelCase names", () => {
    const s = readSettings(
      scoped(
        {
          maxPolecats: 8,
          autoMerge: false,
          verifyCommand: " make check ",
          "turnTimeout": 120,
          reworkAttempts: 0,
        },
        { maxPolecats: 4, autoMerge: true, planApproval: false, verifyCommand: "" },
      ),
    );
    expect(initializationOptions(s)).toEqual({
      provider: { type: "copilot" },
      maxPolecats: 8,
      autoMerge: false,
      verifyCommand: "make check",
      turnTimeout: 120,
      reworkAttempts: 0,
    });
    expect(s.problems).toEqual([]);
  });

  it("leaves defaults out entirely (the server keeps its own)", () => {
    const s = readSettings(scoped({}, { maxPolecats: 4, autoMerge: true, planApproval: false }));
    expect(initializationOptions(s)).toEqual({ provider: { type: "copilot" } });
  });

  it("drops invalid values with a note instead of failing the server's validation", () => {
    const s = readSettings(
      scoped({ maxPolecats: 0, autoMerge: "yes", "maxPlanSize": 2.5, planApproval: null, verifyCommand: "" }),
    );
    expect(initializationOptions(s)).toEqual({ provider: { type: "copilot" } });
    expect(s.problems.map((p) => p.split(":")[0])).toEqual([
      "gastown.maxPolecats",
      "gastown.autoMerge",
      "gastown.maxPlanSize",
    ]);
  });

  it("passes the API key from secret storage in provider.apiKey only", () => {
    const s = readSettings(config({ "provider.type": "openai", "provider.baseUrl": "http://h/v1" }));
    expect(initializationOptions(s, "sk-123")).toEqual({
      provider: { type: "openai", baseUrl: "http://h/v1", apiKey: "sk-123" },
    });
    expect(initializationOptions(s, "")).toEqual({ provider: { type: "openai", baseUrl: "http://h/v1" } });
  });

  it("runs the server with GASTOWN_LOG=WARNING unless the log level setting says otherwise", () => {
    expect(serverEnv(readSettings(config({})), { PATH: "/bin" })).toEqual({ PATH: "/bin", GASTOWN_LOG: "WARNING" });
    expect(serverEnv(readSettings(config({ "server.logLevel": "debug" })), {}).GASTOWN_LOG).toBe("DEBUG");
    expect(serverEnv(readSettings(config({ "server.logLevel": "LOUD" })), {}).GASTOWN_LOG).toBe("WARNING");
  });
});

describe("nested and enum town settings", () => {
  it("sends budgets and witness settings nested under polecats, and refuses unknown radar modes", async () => {
    const values: Record<string, unknown> = {
      "polecats.budget.tokensPerBead": 5000,
      "polecats.budget.secondsPerGoal": 600,
      "polecats.stallSeconds": 30,
      conflictRadar: "sideways",
      mergeBatchSize: 4,
    };
    const s = readSettings({ get: <T>(key: string) => values[key] as T });
    const options = initializationOptions(s);
    expect(options.polecats).toEqual({ stallSeconds: 30, budget: { tokensPerBead: 5000, secondsPerGoal: 600 } });
    expect(options.mergeBatchSize).toBe(4);
    expect(options.conflictRadar).toBeUndefined();
    expect(s.problems.some((p) => p.includes("gastown.conflictRadar"))).toBe(true);
  });
});

describe("settings generated from the server's model", () => {
  it("covers every contributed setting and enforces the server's bounds", async () => {
    const { SETTINGS } = await import("../src/contracts");
    const { validSetting, RESTART_KEYS } = await import("../src/settings");
    const manifest = (await import("../../package.json", { with: { type: "json" } })).default as {
      contributes: { configuration: { properties: Record<string, unknown> } };
    };
    expect(Object.keys(manifest.contributes.configuration.properties)).toEqual(SETTINGS.map((s) => `gastown.${s.setting}`));
    expect(RESTART_KEYS).toContain("turnTimeout");
    const turn = SETTINGS.find((s) => s.setting === "turnTimeout")!;
    expect(turn.option).toBe("turnTimeout");
    // The server's `gt=0`: any positive number, not zero.
    expect(validSetting(turn, 0.5)).toBe(true);
    expect(validSetting(turn, 0)).toBe(false);
    const radar = SETTINGS.find((s) => s.setting === "conflictRadar")!;
    expect(validSetting(radar, "serialize")).toBe(true);
    expect(validSetting(radar, "sideways")).toBe(false);
  });
});
