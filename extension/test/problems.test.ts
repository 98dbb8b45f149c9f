import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { INSTALL_CLI, PINNED_CLI, PROBLEM_QUIET_MS, problemIn, problemMessage, shouldTell } from "../src/problems";

describe("problemIn", () => {
  it("finds a missing CLI and keeps the install command the server named", () => {
    const text =
      "Copilot CLI not found: set gastown.cliPath or COPILOT_CLI_PATH, or run `npm install -g @github/copilot@1.0.102`";
    expect(problemIn(text)).toEqual({ kind: "cli-missing", installCommand: "npm install -g @github/copilot@1.0.102" });
    expect(problemMessage(problemIn(text)!)).toContain("`npm install -g @github/copilot@1.0.102`");
  });

  it("offers the pinned install command when the message has none", () => {
    expect(problemIn("submitting the goal failed: Copilot CLI not found")).toEqual({
      kind: "cli-missing",
      installCommand: INSTALL_CLI,
    });
  });

  it("finds a missing login in the SDK's raw error and in the server's advice", () => {
    expect(problemIn("Execution failed: InvalidArg, No GitHub OAuth token or Copilot HMAC key provided")).toEqual({
      kind: "login",
    });
    expect(problemIn("Copilot is not set up: log in with `copilot` then /login, or set a BYOK provider")?.kind).toBe(
      "login",
    );
    expect(problemMessage({ kind: "login" })).toMatch(/`copilot`.*`\/login`.*`gh auth login`/);
  });

  it("leaves other messages alone", () => {
    expect(problemIn("Gas Town: gt-1 needs you — verification failed")).toBeUndefined();
    expect(problemIn("see the log in the output channel")).toBeUndefined();
  });
});

describe("shouldTell", () => {
  it("tells each kind once a minute", () => {
    const told = new Map<string, number>();
    expect(shouldTell({ kind: "login" }, 1000, told)).toBe(true);
    expect(shouldTell({ kind: "login" }, 2000, told)).toBe(false);
    expect(shouldTell({ kind: "cli-missing", installCommand: INSTALL_CLI }, 2000, told)).toBe(true);
    expect(shouldTell({ kind: "login" }, 1000 + PROBLEM_QUIET_MS, told)).toBe(true);
  });
});

describe("versions kept in step", () => {
  const manifest = JSON.parse(readFileSync("package.json", "utf8"));
  it("pins the CLI the npm dependency installs", () => {
    expect(manifest.devDependencies["@github/copilot"]).toBe(PINNED_CLI);
  });
  it("carries a gastown wheel of the extension's own version (the private environment installs gastown==version)", () => {
    const pyproject = readFileSync("pyproject.toml", "utf8");
    expect(/^version = "([^"]+)"/m.exec(pyproject)?.[1]).toBe(manifest.version);
  });
});
