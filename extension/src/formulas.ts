// "Gas Town: Run Formula…": pick one of the town's formulas (built-in, ~/.beads/formulas, the project's
// .beads/formulas), answer one input per variable (required ones enforced, enum and pattern checked as the
// server checks them), and pour it into an epic that runs like a goal. The pure parts (items, checks, the
// flow over an injected UI) are tested by vitest; `registerRunFormula` binds them to VS Code.
import * as vscode from "vscode";
import { errorText } from "./errors";
import type { FormulaInfo, FormulasResult, FormulaVar, RunFormulaParams, RunFormulaResult } from "./protocol";

export const RUN_FORMULA = "gastown.runFormula";

/** What the command needs from the server. */
export interface FormulaApi {
  formulas(): Promise<FormulasResult>;
  runFormula(params: RunFormulaParams): Promise<RunFormulaResult>;
}

export interface FormulaItem {
  label: string;
  description: string;
  detail: string;
  formula: FormulaInfo;
}

/** Quick pick rows: name; origin, steps and human steps; the description. */
export function formulaItems(result: FormulasResult): FormulaItem[] {
  return [...result.formulas]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((formula) => {
      const steps = formula.steps ?? [];
      const human = steps.filter((s) => s.human).length;
      const forYou = human ? ` · ${human} for you` : "";
      return {
        label: formula.name,
        description: `${formula.origin} · ${steps.length} step${steps.length === 1 ? "" : "s"}${forYou}`,
        detail: formula.description ?? "",
        formula,
      };
    });
}

/** What is wrong with `value` for `v` (undefined: nothing), as the server would say it. */
export function varProblem(v: FormulaVar, value: string): string | undefined {
  if (!value.trim()) return v.required ? `${v.name} is required` : undefined;
  const allowed = v.enum ?? [];
  if (allowed.length && !allowed.includes(value)) return `${v.name} must be one of ${allowed.join(", ")}`;
  if (v.pattern) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(v.pattern);
    } catch {
      re = undefined; // a pattern JavaScript cannot read: the server checks it
    }
    if (re && !re.test(value)) return `${v.name} must match ${v.pattern}`;
  }
  return undefined;
}

export interface InputOptions {
  title: string;
  prompt: string;
  placeHolder: string;
  value: string;
}

/** The input box of one variable: its description, whether it is required, its default filled in. */
export function inputOptions(formula: FormulaInfo, v: FormulaVar, index: number, count: number): InputOptions {
  const rules = [v.required ? "required" : "optional", v.enum?.length ? `one of ${v.enum.join(", ")}` : ""]
    .filter(Boolean)
    .join("; ");
  return {
    title: `Run Formula ${formula.name} (${index + 1}/${count})`,
    prompt: `${v.name}${v.description ? `: ${v.description}` : ""} (${rules})`,
    placeHolder: v.pattern ? `matches ${v.pattern}` : (v.enum?.[0] ?? ""),
    value: v.default ?? "",
  };
}

/** The UI the flow talks to (VS Code's quick pick and input box, or a test's script). */
export interface FormulaUi {
  pick(items: FormulaItem[]): Promise<FormulaItem | undefined>;
  ask(options: InputOptions, validate: (value: string) => string | undefined): Promise<string | undefined>;
}

/** One answer per variable; undefined when the Overseer cancels. Empty optional answers are left out. */
export async function collectVars(formula: FormulaInfo, ui: FormulaUi): Promise<Record<string, string> | undefined> {
  const vars = formula.vars ?? [];
  const values: Record<string, string> = {};
  for (const [i, v] of vars.entries()) {
    const answer = await ui.ask(inputOptions(formula, v, i, vars.length), (value) => varProblem(v, value));
    if (answer === undefined) return undefined;
    const problem = varProblem(v, answer);
    if (problem) throw new Error(problem); // an input box never accepts it; a script might
    if (answer.trim()) values[v.name] = answer;
  }
  return values;
}

/** Pick, ask, pour. Undefined when cancelled or there is nothing to pick. */
export async function runFormulaFlow(api: FormulaApi, ui: FormulaUi): Promise<RunFormulaResult | undefined> {
  const listed = await api.formulas();
  const items = formulaItems(listed);
  if (!items.length) throw new Error("no formulas: add NAME.formula.toml files to .beads/formulas/");
  const chosen = await ui.pick(items);
  if (!chosen) return undefined;
  const vars = await collectVars(chosen.formula, ui);
  if (!vars) return undefined;
  return api.runFormula({ name: chosen.formula.name, vars });
}

/** The line shown once the formula is poured. */
export function pouredMessage(name: string, result: RunFormulaResult): string {
  const human = result.human_bead_ids ?? [];
  const you = human.length ? ` — ${human.join(", ")} ${human.length === 1 ? "is a step" : "are steps"} for you` : "";
  return `Gas Town: formula ${name} poured into ${result.epic_id} with ${result.bead_ids.length} beads${you}`;
}

const vscodeUi: FormulaUi = {
  pick: (items) =>
    Promise.resolve(
      vscode.window.showQuickPick(items, { title: "Run Formula", placeHolder: "Pick a formula", matchOnDetail: true }),
    ),
  ask: (options, validate) =>
    Promise.resolve(vscode.window.showInputBox({ ...options, ignoreFocusOut: true, validateInput: validate })),
};

export function registerRunFormula(
  town: () => Promise<FormulaApi>,
  output: vscode.OutputChannel,
  ui: FormulaUi = vscodeUi,
): vscode.Disposable {
  return vscode.commands.registerCommand(RUN_FORMULA, async () => {
    let name = "";
    try {
      const api = await town();
      const result = await runFormulaFlow(
        { formulas: () => api.formulas(), runFormula: (p) => ((name = p.name), api.runFormula(p)) },
        ui,
      );
      if (result) void vscode.window.showInformationMessage(pouredMessage(name, result));
      return result;
    } catch (err) {
      output.appendLine(`Run Formula failed: ${errorText(err)}`);
      void vscode.window.showErrorMessage(`Gas Town: ${errorText(err)}`);
      return undefined;
    }
  });
}
