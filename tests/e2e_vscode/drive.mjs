#!/usr/bin/env node
// Drive the Gas Town extension in real VS Code (code-server) with headless Chromium via playwright-core:
// open the Gas Town view, run "Gas Town: Submit Goal" from the command palette, type a goal, and wait
// until the Beads view shows the plan's beads closed. Screenshots go to test-artifacts/vscode/.
//
//   node tests/e2e_vscode/drive.mjs <code-server URL> [--goal TEXT] [--until view|palette|submitted|closed]
//        [--timeout SECONDS] [--out DIR]
//
// --until stops early after a step (for probing). Exit 0 on success; on failure, exit 1 with a message
// saying which step failed, plus failure.png and failure.txt (the workbench's visible text).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const STEPS = ["view", "palette", "submitted", "closed"];

function parseArgs(argv) {
  const opts = {
    url: undefined,
    goal: "Add multiply and divide to the calculator, with tests and docs",
    until: "closed",
    timeout: 120,
    out: join(REPO, "test-artifacts", "vscode"),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--goal") opts.goal = argv[++i];
    else if (a === "--until") opts.until = argv[++i];
    else if (a === "--timeout") opts.timeout = Number(argv[++i]);
    else if (a === "--out") opts.out = resolve(argv[++i]);
    else if (!a.startsWith("--") && !opts.url) opts.url = a;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!opts.url) throw new Error("usage: drive.mjs <code-server URL> [--goal TEXT] [--until STEP] [--timeout S]");
  if (!STEPS.includes(opts.until)) throw new Error(`--until must be one of ${STEPS.join(", ")}`);
  return opts;
}

const started = Date.now();
const log = (msg) => console.log(`[drive ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class StepFailed extends Error {}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  mkdirSync(opts.out, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "gastown-chromium-"));
  let step = "launch Chromium";
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1400, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  const shot = async (name) => {
    const path = join(opts.out, `${name}.png`);
    await page.screenshot({ path });
    log(`screenshot ${path}`);
  };

  try {
    step = "open the workbench";
    log(`${step}: ${opts.url}`);
    await page.goto(opts.url, { waitUntil: "domcontentloaded", timeout: 60_000 });
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
    await page.locator(".activitybar").waitFor({ state: "visible", timeout: 60_000 });
    await shot("01-workbench");

    step = "open the Gas Town view from the activity bar";
    log(step);
    const townIcon = page.locator('.activitybar .action-item [aria-label^="Gas Town"]').first();
    await retry(step, 60_000, async () => {
      await townIcon.waitFor({ state: "visible", timeout: 2_000 });
      return true;
    });
    await townIcon.click();
    const beadsHeader = page.locator(".pane-header", { hasText: /^\s*Beads/i }).first();
    const agentsHeader = page.locator(".pane-header", { hasText: /Agents/i }).first();
    await beadsHeader.waitFor({ state: "visible", timeout: 20_000 });
    await agentsHeader.waitFor({ state: "visible", timeout: 20_000 });
    log("Gas Town view is open: Beads and Agents panes visible");
    await shot("02-gastown-view");
    if (opts.until === "view") return done();

    step = 'find "Gas Town: Submit Goal" in the command palette';
    log(step);
    // The palette can open before the extension has registered its commands: retry until it shows.
    await retry(step, 60_000, async () => {
      await openPalette(page);
      await page.keyboard.type("Gas Town: Submit Goal");
      const row = page.locator(".quick-input-list .monaco-list-row", { hasText: "Gas Town: Submit Goal" }).first();
      try {
        await row.waitFor({ state: "visible", timeout: 3_000 });
        return true;
      } catch {
        await page.keyboard.press("Escape");
        return false;
      }
    });
    await shot("03-palette");
    if (opts.until === "palette") {
      await page.keyboard.press("Escape");
      return done();
    }

    step = "run the command and type the goal";
    log(step);
    await page.keyboard.press("Enter");
    const prompt = page.locator(".quick-input-widget", { hasText: "Describe the goal" });
    await prompt.waitFor({ state: "visible", timeout: 20_000 });
    await page.keyboard.type(opts.goal);
    await shot("04-goal-input");
    await page.keyboard.press("Enter");
    await prompt.waitFor({ state: "hidden", timeout: 10_000 });

    step = "wait for the plan (an epic and its beads) in the Beads view";
    log(step);
    const planned = await retry(step, 60_000, async () => {
      const failure = await notificationMatching(page, /submitting the goal failed|did not start|cannot open/i);
      if (failure) throw new StepFailed(`the extension reported: ${failure}`);
      const rows = await beadRows(page);
      return rows.some((r) => r.level >= 2) ? rows : false;
    });
    log(`the Beads view shows ${planned.length} rows: ${summary(planned)}`);
    const epicNote = await notificationMatching(page, /planned as epic/i);
    if (epicNote) log(`notification: ${epicNote}`);
    await shot("05-beads");
    if (opts.until === "submitted") return done();

    step = "wait until every task bead is closed";
    log(`${step} (up to ${opts.timeout} s)`);
    let last = "";
    const closed = await retry(step, opts.timeout * 1000, async () => {
      const rows = await beadRows(page);
      const text = summary(rows);
      if (text !== last) {
        log(`beads: ${text}`);
        last = text;
      }
      const tasks = rows.filter((r) => r.level >= 2);
      return tasks.length > 0 && tasks.every((r) => /\bclosed\b/.test(r.description)) ? rows : false;
    }, 1_000);
    const epic = closed.find((r) => r.level === 1);
    log(`all ${closed.filter((r) => r.level >= 2).length} task beads closed; epic: ${epic ? epic.description : "?"}`);
    await shot("06-closed");
    return done();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await fail(page, step, message, opts, consoleErrors).catch(() => {});
    throw new StepFailed(`step "${step}" failed: ${message}`);
  } finally {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }

  function done() {
    log(`OK (until ${opts.until})`);
  }
}

async function openPalette(page) {
  await page.locator(".monaco-workbench").click({ position: { x: 700, y: 450 }, force: true }).catch(() => {});
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input").first();
  await input.waitFor({ state: "visible", timeout: 5_000 });
  // F1 opens with ">" already typed; make sure the box holds exactly ">" before typing.
  await input.fill(">");
}

/** Every visible row of the Beads tree: label, description, tree level. */
async function beadRows(page) {
  return page.evaluate(() => {
    const panes = [...document.querySelectorAll(".pane")];
    const pane = panes.find((p) => /^\s*Beads\b/i.test(p.querySelector(".pane-header")?.textContent ?? ""));
    if (!pane) return [];
    return [...pane.querySelectorAll(".pane-body .monaco-list-row")].map((row) => ({
      label: row.querySelector(".label-name")?.textContent?.trim() ?? "",
      description: row.querySelector(".label-description")?.textContent?.trim() ?? "",
      level: Number(row.getAttribute("aria-level") ?? "1"),
    }));
  });
}

async function notificationMatching(page, pattern) {
  const texts = await page
    .locator(".notifications-toasts .notification-list-item-message, .notifications-center .notification-list-item-message")
    .allTextContents()
    .catch(() => []);
  return texts.find((t) => pattern.test(t));
}

function summary(rows) {
  return rows.map((r) => `${"  ".repeat(Math.max(0, r.level - 1))}${r.label} [${r.description}]`).join("; ");
}

/** Call fn until it returns something truthy, or fail after ms. StepFailed from fn stops at once. */
async function retry(what, ms, fn, every = 500) {
  const deadline = Date.now() + ms;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      if (err instanceof StepFailed) throw err;
      lastError = err;
    }
    await sleep(every);
  }
  throw new Error(`timed out after ${Math.round(ms / 1000)} s${lastError ? ` (last error: ${lastError.message})` : ""}`);
}

async function fail(page, step, message, opts, consoleErrors) {
  await page.screenshot({ path: join(opts.out, "failure.png") }).catch(() => {});
  const text = await page.locator(".monaco-workbench").innerText({ timeout: 5_000 }).catch(() => "(no workbench)");
  const notes = await page
    .locator(".notification-list-item-message")
    .allTextContents()
    .catch(() => []);
  writeFileSync(
    join(opts.out, "failure.txt"),
    [
      `step: ${step}`,
      `error: ${message}`,
      "",
      "notifications:",
      ...notes.map((n) => `  ${n}`),
      "",
      "browser console errors:",
      ...consoleErrors.slice(-30).map((e) => `  ${e}`),
      "",
      "workbench text:",
      text,
    ].join("\n"),
  );
  log(`failure artefacts: ${join(opts.out, "failure.png")}, failure.txt`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`drive.mjs: FAILED: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
