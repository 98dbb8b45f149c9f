// "Gas Town: Run Formula…": the pick rows, the per-variable checks, the flow over a scripted UI, and the
// registered command's messages.
import { afterEach, describe, expect, it } from "vitest";
import { recorded } from "./vscode-stub";
import {
  type FormulaApi,
  type FormulaItem,
  type FormulaUi,
  type InputOptions,
  RUN_FORMULA,
  collectVars,
  formulaItems,
  inputOptions,
  pouredMessage,
  registerRunFormula,
  runFormulaFlow,
  varProblem,
} from "../src/formulas";
import type { FormulaInfo, FormulasResult, RunFormulaParams } from "../src/protocol";

const release: FormulaInfo = {
  name: "release",
  description: "Prepare and publish a release",
  origin: "builtin",
  path: "/x/release.formula.toml",
  steps: [
    { id: "changelog", title: "Changelog for {{version}}" },
    { id: "bump", title: "Bump", needs: ["changelog"] },
    { id: "notes", title: "Notes", needs: ["changelog"] },
    { id: "publish", title: "Publish", needs: ["bump", "notes"], human: true },
  ],
  vars: [
    { name: "version", description: "The version", required: true, default: null, enum: [], pattern: "^\\d+\\.\\d+\\.\\d+$" },
    { name: "channel", description: "", required: false, default: "stable", enum: ["stable", "beta"], pattern: null },
    { name: "note", description: "", required: false, default: null, enum: [], pattern: null },
  ],
};
const docs: FormulaInfo = { name: "docs", origin: "project", path: "/p/docs.formula.toml", steps: [{ id: "write", title: "Write" }], vars: [] };
const listed: FormulasResult = { formulas: [release, docs], problems: [] };

/** A UI that picks by name and answers the inputs in order (undefined = Escape), recording what it showed. */
function scripted(pick: string | undefined, answers: Array<string | undefined>) {
  const shown: InputOptions[] = [];
  const rejected: string[] = [];
  const ui: FormulaUi = {
    pick: async (items: FormulaItem[]) => items.find((i) => i.label === pick),
    ask: async (options, validate) => {
      shown.push(options);
      // Like an input box: a value the validator refuses is not accepted; the next answer is typed.
      for (;;) {
        const answer = answers.shift();
        if (answer === undefined) return undefined;
        const problem = validate(answer);
        if (!problem) return answer;
        rejected.push(problem);
      }
    },
  };
  return { ui, shown, rejected };
}

function fakeApi() {
  const runs: RunFormulaParams[] = [];
  const api: FormulaApi = {
    formulas: async () => listed,
    runFormula: async (params) => {
      runs.push(params);
      return { epic_id: "gt-e1", bead_ids: ["gt-e1.1", "gt-e1.2", "gt-e1.3", "gt-e1.4"], human_bead_ids: ["gt-e1.4"] };
    },
  };
  return { api, runs };
}

describe("formula items and checks", () => {
  it("lists formulas by name with origin, steps and the steps for the Overseer", () => {
    expect(formulaItems(listed).map((i) => [i.label, i.description, i.detail])).toEqual([
      ["docs", "project · 1 step", ""],
      ["release", "builtin · 4 steps · 1 for you", "Prepare and publish a release"],
    ]);
  });

  it("enforces required, enum and pattern like the server", () => {
    const [version, channel, note] = release.vars!;
    expect(varProblem(version, "")).toBe("version is required");
    expect(varProblem(version, "1.2")).toBe("version must match ^\\d+\\.\\d+\\.\\d+$");
    expect(varProblem(version, "1.2.0")).toBeUndefined();
    expect(varProblem(channel, "nightly")).toBe("channel must be one of stable, beta");
    expect(varProblem(channel, "")).toBeUndefined();
    expect(varProblem(note, "")).toBeUndefined();
  });

  it("fills the default and says what is required", () => {
    const options = inputOptions(release, release.vars![1], 1, 3);
    expect(options).toEqual({
      title: "Run Formula release (2/3)",
      prompt: "channel (optional; one of stable, beta)",
      placeHolder: "stable",
      value: "stable",
    });
    expect(inputOptions(release, release.vars![0], 0, 3).prompt).toBe("version: The version (required)");
  });
});

describe("the flow", () => {
  it("asks every variable, refuses a missing required one, and pours with the answers", async () => {
    const { api, runs } = fakeApi();
    const { ui, shown, rejected } = scripted("release", ["", "1.2", "1.2.0", "beta", ""]);
    const result = await runFormulaFlow(api, ui);
    expect(rejected).toEqual(["version is required", "version must match ^\\d+\\.\\d+\\.\\d+$"]);
    expect(shown.map((s) => s.title)).toEqual([
      "Run Formula release (1/3)",
      "Run Formula release (2/3)",
      "Run Formula release (3/3)",
    ]);
    expect(runs).toEqual([{ name: "release", vars: { version: "1.2.0", channel: "beta" } }]);
    expect(pouredMessage("release", result!)).toBe(
      "Gas Town: formula release poured into gt-e1 with 4 beads — gt-e1.4 is a step for you",
    );
  });

  it("runs nothing when the pick or an input is cancelled", async () => {
    const { api, runs } = fakeApi();
    expect(await runFormulaFlow(api, scripted(undefined, []).ui)).toBeUndefined();
    expect(await runFormulaFlow(api, scripted("release", ["1.0.0", undefined]).ui)).toBeUndefined();
    expect(runs).toEqual([]);
  });

  it("a formula without variables is poured at once", async () => {
    expect(await collectVars(docs, scripted("docs", []).ui)).toEqual({});
  });
});

describe("the command", () => {
  afterEach(() => recorded.reset());
  const output = { lines: [] as string[], appendLine(line: string) { this.lines.push(line); } };

  it("shows what was poured, or the server's error", async () => {
    const { api } = fakeApi();
    const disposable = registerRunFormula(async () => api, output as never, scripted("release", ["2.0.0", "stable", "x"]).ui);
    await recorded.commands.get(RUN_FORMULA)!();
    expect(recorded.messages).toEqual([
      { level: "info", text: "Gas Town: formula release poured into gt-e1 with 4 beads — gt-e1.4 is a step for you" },
    ]);
    disposable.dispose();

    const failing: FormulaApi = {
      formulas: async () => listed,
      runFormula: async () => {
        throw new Error("the formula could not be poured: vars.version: bad");
      },
    };
    registerRunFormula(async () => failing, output as never, scripted("release", ["2.0.0", "", ""]).ui);
    await recorded.commands.get(RUN_FORMULA)!();
    expect(recorded.messages.at(-1)).toEqual({
      level: "error",
      text: "Gas Town: the formula could not be poured: vars.version: bad",
    });
  });
});
