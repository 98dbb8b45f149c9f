#!/usr/bin/env node
// Drive the Gas Town extension in real VS Code (code-server) with headless Chromium via playwright-core.
//
// Default run (the town merges verified branches itself, autoMerge on):
//   view       open the Gas Town view (Beads and Agents panes)
//   palette    find "Gas Town: Submit Goal" in the command palette
//   submitted  run it, type the goal, wait for the plan (an epic and its tasks) in the Beads view
//   closed     wait until every task bead is closed, watching the Agents view and the status bar
//   editor     open a bead's diff from the tree (context menu "Open Diff": diff editor with code lenses),
//              show a bead (click a row: its Markdown page), open a polecat's log (click in Agents)
//
// --review (the town waits for the Overseer, autoMerge off; needs gastown/review on the server):
//   after "submitted", until every task bead is closed: the first bead that reaches `review` is opened
//   from the tree; one hunk is accepted with its "Accept hunk" lens, another is rejected with a comment
//   through the Comments API ("Comment" lens, type, "Request Changes"); the bead must go back to work
//   and later close. Any bead (again) in review after that is opened with "Gas Town: Review Next Diff"
//   and accepted whole with its "Accept branch" lens.
//
// --set-cli PATH: the first Submit Goal meets a missing Copilot CLI; its notification's **Set Path…** is
//   given PATH in the file dialog, the server restarts, and the goal is submitted again.
// --answer TEXT: while waiting for the beads to close, a polecat's "needs you" notification is answered
//   with its **Answer…** button (the answer typed into the input box it opens).
//
//   node tests/e2e_vscode/drive.mjs <code-server URL> [--goal TEXT] [--until STEP] [--review]
//        [--comment TEXT] [--answer TEXT] [--set-cli PATH] [--timeout SECONDS] [--out DIR]
//
// --until stops early after a step (for probing). Exit 0 on success; on failure, exit 1 with a message
// saying which step failed, plus failure.png and failure.txt (the workbench's visible text).
// Lines starting with "EVIDENCE " are JSON facts for test_vscode.py.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const STEPS = ["view", "palette", "submitted", "closed", "editor"];

function parseArgs(argv) {
  const opts = {
    url: undefined,
    goal: "Add multiply and divide to the calculator, with tests and docs",
    until: "editor",
    review: false,
    comment: "Test zero instead: add(0, 0) == 0",
    answer: undefined,
    setCli: undefined,
    timeout: 120,
    out: join(REPO, "test-artifacts", "vscode"),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--goal") opts.goal = argv[++i];
    else if (a === "--until") opts.until = argv[++i];
    else if (a === "--review") opts.review = true;
    else if (a === "--comment") opts.comment = argv[++i];
    else if (a === "--answer") opts.answer = argv[++i];
    else if (a === "--set-cli") opts.setCli = argv[++i];
    else if (a === "--timeout") opts.timeout = Number(argv[++i]);
    else if (a === "--out") opts.out = resolve(argv[++i]);
    else if (!a.startsWith("--") && !opts.url) opts.url = a;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!opts.url) throw new Error("usage: drive.mjs <code-server URL> [--goal TEXT] [--until STEP] [--review] [--timeout S]");
  if (!STEPS.includes(opts.until)) throw new Error(`--until must be one of ${STEPS.join(", ")}`);
  return opts;
}

const started = Date.now();
const log = (msg) => console.log(`[drive ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
const evidence = (fact) => console.log(`EVIDENCE ${JSON.stringify(fact)}`);
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
  const setStep = (s) => {
    step = s;
    log(s);
  };

  try {
    setStep("open the workbench");
    await page.goto(opts.url, { waitUntil: "domcontentloaded", timeout: 60_000 });
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 60_000 });
    await page.locator(".activitybar").waitFor({ state: "visible", timeout: 60_000 });
    await shot("01-workbench");

    setStep("open the Gas Town view from the activity bar");
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

    setStep('find "Gas Town: Submit Goal" in the command palette');
    await findInPalette(page, "Gas Town: Submit Goal", step);
    await shot("03-palette");
    if (opts.until === "palette") {
      await page.keyboard.press("Escape");
      return done();
    }

    setStep("run the command and type the goal");
    await page.keyboard.press("Enter");
    const typeGoal = async () => {
      const prompt = page.locator(".quick-input-widget", { hasText: "Describe the goal" });
      await prompt.waitFor({ state: "visible", timeout: 20_000 });
      await page.keyboard.type(opts.goal);
      await shot("04-goal-input");
      await page.keyboard.press("Enter");
      await prompt.waitFor({ state: "hidden", timeout: 10_000 });
    };
    await typeGoal();

    if (opts.setCli) {
      setStep("the Copilot CLI is missing: its notification's Set Path…, then the goal again");
      const toast = page
        .locator(".notifications-toasts .notification-list-item", { hasText: /Copilot CLI/ })
        .filter({ has: page.locator(".monaco-button", { hasText: "Set Path…" }) })
        .first();
      await toast.waitFor({ state: "visible", timeout: 180_000 });
      const notice = (await toast.locator(".notification-list-item-message").textContent()) ?? "";
      const actions = await toast.locator(".monaco-button").allTextContents();
      log(`notification: ${notice} [${actions.join(", ")}]`);
      evidence({ cliNotice: notice, cliActions: actions });
      await shot("04a-cli-missing");
      await toast.locator(".monaco-button", { hasText: "Set Path…" }).click();
      const input = page.locator(".quick-input-widget input").first();
      await input.waitFor({ state: "visible", timeout: 20_000 });
      // The simple file dialog fills in its start folder after it shows: type the path once the value is
      // there, and go on only when the path has stayed as typed for two polls in a row.
      let steady = 0;
      await retry(`${step}: the path typed into the file dialog`, 20_000, async () => {
        const value = await input.inputValue();
        if (value === opts.setCli) return ++steady >= 2;
        steady = 0;
        if (value) await input.fill(opts.setCli);
        return false;
      }, 250);
      await shot("04b-cli-path");
      await page.keyboard.press("Enter");
      await retry(`${step}: "server restarted" in the status bar`, 60_000, async () => {
        const texts = await page.locator(".statusbar-item").allTextContents();
        return texts.some((t) => /server restarted/.test(t));
      });
      await dismissNotifications(page);
      await findInPalette(page, "Gas Town: Submit Goal", step);
      await page.keyboard.press("Enter");
      await typeGoal();
    }

    setStep("wait for the plan (an epic and its beads) in the Beads view");
    // (longer than a plan takes: a first start creates the server's private environment)
    const planned = await retry(step, 180_000, async () => {
      const failure = await notificationMatching(page, /submitting the goal failed|did not start|cannot open/i);
      if (failure) throw new StepFailed(`the extension reported: ${failure}`);
      const rows = await beadRows(page);
      return rows.some((r) => r.level >= 2) ? rows : false;
    });
    log(`the Beads view shows ${planned.length} rows: ${summary(planned)}`);
    const epicNote = await notificationMatching(page, /planned as epic/i);
    if (epicNote) log(`notification: ${epicNote}`);
    evidence({ planned: planned.filter((r) => r.level >= 2).length });
    await shot("05-beads");
    if (opts.until === "submitted") return done();

    if (opts.review) {
      await reviewUntilClosed(page, opts, shot, setStep);
      return done();
    }

    setStep("wait until every task bead is closed, watching Agents and the status bar");
    log(`(up to ${opts.timeout} s)`);
    let last = "";
    let lastAgents = "";
    const agentsSeen = new Map();
    let statusSeen = "";
    let answered = false;
    const closed = await retry(step, opts.timeout * 1000, async () => {
      if (opts.answer && !answered) answered = await answerQuestion(page, opts.answer, shot);
      const rows = await beadRows(page);
      const text = summary(rows);
      if (text !== last) {
        log(`beads: ${text}`);
        last = text;
      }
      const agents = await agentRows(page);
      for (const a of agents) {
        if (!agentsSeen.has(a.label)) agentsSeen.set(a.label, new Set());
        agentsSeen.get(a.label).add(a.description.split(" · ")[0]);
      }
      // (without the elapsed time, which ticks every second)
      const agentText = agents.map((a) => `${a.label} [${a.description.replace(/ · \d+(:\d\d)+$/, "")}]`).join("; ");
      if (agentText !== lastAgents) {
        log(`agents: ${agentText || "(none)"}`);
        lastAgents = agentText;
      }
      const status = await statusBarText(page);
      if (status && status !== statusSeen) {
        log(`status bar: ${status}`);
        statusSeen = status;
      }
      const tasks = rows.filter((r) => r.level >= 2);
      return tasks.length > 0 && tasks.every((r) => /\bclosed\b/.test(r.description)) ? rows : false;
    }, 700);
    const epic = closed.find((r) => r.level === 1);
    log(`all ${closed.filter((r) => r.level >= 2).length} task beads closed; epic: ${epic ? epic.description : "?"}`);
    const polecats = [...agentsSeen.keys()].filter((id) => id.startsWith("polecat"));
    log(`agents seen: ${[...agentsSeen].map(([id, states]) => `${id} (${[...states].join(", ")})`).join("; ")}`);
    if (polecats.length === 0) throw new StepFailed("no polecat ever showed in the Agents view");
    if (!/running/.test(statusSeen) || !/ready/.test(statusSeen)) {
      throw new StepFailed(`the status bar item never showed agents running / beads ready (saw: ${statusSeen || "nothing"})`);
    }
    if (opts.answer && !answered) throw new StepFailed("the beads closed, but no polecat ever asked");
    evidence({ closed: closed.filter((r) => r.level >= 2).length, polecats, statusBar: statusSeen });
    await shot("06-closed");
    if (opts.until === "closed") return done();

    // --- the editor: a diff from the tree, a bead's page, an agent's log ---------------------------
    const task = closed.find((r) => r.level >= 2);
    setStep(`open the diff of "${task.label}" from the Beads view (context menu: Open Diff)`);
    await treeContextAction(page, "Beads", task.label, "Open Diff");
    const diff = await activeDiff(page, step);
    const lens = await waitForLens(page, diff, /merged into the integration branch|Accept/, step);
    const tab = await activeTabTitle(page);
    log(`diff editor open: tab "${tab}", lens "${lens}"`);
    evidence({ diffTab: tab, diffLens: lens });
    await shot("07-diff");

    setStep(`show bead "${task.label}" (click its row)`);
    await treeRow(page, "Beads", task.label).click();
    const beadTab = await retry(step, 20_000, async () => {
      const t = await activeTabTitle(page);
      return t && t.endsWith(".md") ? t : false;
    });
    const beadText = await retry(step, 10_000, async () => {
      const text = await visibleEditorText(page);
      return /Acceptance criteria/.test(text) ? text : false;
    });
    log(`bead page open: ${beadTab} (${beadText.split("\n")[0]})`);
    evidence({ beadTab });
    await shot("08-bead");

    const polecat = polecats[0];
    setStep(`open the log of ${polecat} (click its row in Agents)`);
    await treeRow(page, "Agents", polecat).click();
    const logTab = await retry(step, 20_000, async () => {
      const t = await activeTabTitle(page);
      return t && t.endsWith(".log") ? t : false;
    });
    const logText = await retry(step, 10_000, async () => {
      const text = await visibleEditorText(page);
      return text.trim() ? text : false;
    });
    const logLines = logText.split("\n").filter((l) => /^\d\d:\d\d:\d\d/.test(l.trim())).length;
    log(`agent log open: ${logTab}, ${logLines} event lines visible`);
    evidence({ logTab, logLines });
    await shot("09-agent-log");

    setStep('"Gas Town: Sync Beads" from the palette');
    await findInPalette(page, "Gas Town: Sync Beads", step);
    await page.keyboard.press("Enter");
    const synced = await retry(step, 20_000, async () => {
      const texts = await page.locator(".statusbar-item").allTextContents();
      return texts.map((t) => t.trim()).find((t) => /beads synced/.test(t)) ?? false;
    });
    log(`status bar: ${synced}`);

    setStep('"Gas Town: Restart Server", then "Gas Town: Open Town Log"');
    await findInPalette(page, "Gas Town: Restart Server", step);
    await page.keyboard.press("Enter");
    await retry(`${step}: "server restarted" in the status bar`, 30_000, async () => {
      const texts = await page.locator(".statusbar-item").allTextContents();
      return texts.some((t) => /server restarted/.test(t));
    });
    await findInPalette(page, "Gas Town: Open Town Log", step);
    await page.keyboard.press("Enter");
    // The Output panel shows the "Gas Town" channel (the client's lines and the server's stderr).
    const townLog = await retry(`${step}: the Output panel on the Gas Town channel`, 30_000, async () => {
      const panel = page.locator(".part.panel").filter({ visible: true }).first();
      const channel = await panel.locator("select, .monaco-select-box").first().inputValue().catch(async () =>
        (await panel.locator(".monaco-select-box").first().textContent().catch(() => "")) ?? "");
      const text = (await panel.locator(".monaco-editor .view-lines").first().innerText().catch(() => "")).replace(/\u00a0/g, " ");
      return /Gas Town/.test(channel) && text.trim() ? text : false;
    });
    const after = await retry(`${step}: the beads again`, 30_000, async () => {
      const rows = await beadRows(page);
      const tasks = rows.filter((r) => r.level >= 2);
      return tasks.length === closed.filter((r) => r.level >= 2).length && tasks.every((r) => /\bclosed\b/.test(r.description)) ? rows : false;
    });
    log(`restarted: the Beads view shows ${after.length} rows from the new server; town log open`);
    evidence({ synced: true, restarted: true, townLogLines: townLog.split("\n").length });
    await shot("10-restarted");
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
    log(`OK (${opts.review ? "review, " : ""}until ${opts.review ? "closed" : opts.until})`);
  }
}

// --- a polecat's question (--answer) -----------------------------------------------------------------

/** If a "needs you" notification is up: click its Answer… button, type the answer. True once answered. */
async function answerQuestion(page, answer, shot) {
  const toast = page
    .locator(".notifications-toasts .notification-list-item", { hasText: /needs you/ })
    .filter({ has: page.locator(".monaco-button", { hasText: "Answer…" }) })
    .first();
  if (!(await toast.isVisible().catch(() => false))) return false;
  const question = (await toast.locator(".notification-list-item-message").textContent().catch(() => "")) ?? "";
  log(`notification: ${question}`);
  await shot("06a-question");
  await toast.locator(".monaco-button", { hasText: "Answer…" }).click();
  const box = page.locator(".quick-input-widget", { hasText: /answer/i });
  await box.waitFor({ state: "visible", timeout: 20_000 });
  await page.keyboard.type(answer);
  await shot("06b-answer");
  await page.keyboard.press("Enter");
  await box.waitFor({ state: "hidden", timeout: 10_000 });
  log(`answered: ${answer}`);
  evidence({ question, answered: answer });
  return true;
}

// --- the review flow (--review) -------------------------------------------------------------------------

async function reviewUntilClosed(page, opts, shot, setStep) {
  setStep("review: wait for beads in review, decide them, until every task bead is closed");
  log(`(up to ${opts.timeout} s)`);
  const deadline = Date.now() + opts.timeout * 1000;
  let subject; // the bead whose hunks are decided one by one: { label, statuses: [], revs: [] }
  const decidedRevs = new Set();
  let wholesale = 0;
  let last = "";
  while (Date.now() < deadline) {
    const failure = await notificationMatching(page, /review was not recorded|did not start/i);
    if (failure) throw new StepFailed(`the extension reported: ${failure}`);
    const rows = await beadRows(page);
    const text = summary(rows);
    if (text !== last) {
      log(`beads: ${text}`);
      last = text;
    }
    const tasks = rows.filter((r) => r.level >= 2);
    if (subject) {
      const row = tasks.find((r) => r.label === subject.label);
      const status = row ? statusOf(row.description) : "?";
      if (status !== subject.statuses[subject.statuses.length - 1]) {
        subject.statuses.push(status);
        log(`"${subject.label}": ${subject.statuses.join(" → ")}`);
      }
    }
    if (tasks.length > 0 && tasks.every((r) => statusOf(r.description) === "closed")) break;
    const inReview = tasks.find((r) => statusOf(r.description) === "review");
    if (inReview && !subject) {
      subject = { label: inReview.label, statuses: ["review"], revs: [] };
      const decided = await decideHunks(page, inReview.label, opts, shot, setStep);
      subject.beadId = decided.beadId;
      subject.revs.push(decided.rev);
      decidedRevs.add(decided.rev);
      subject.statuses.push("decided");
    } else if (inReview) {
      // Whatever waits for review now (the reworked bead, or another one) is accepted whole. A revision
      // already decided is not offered again: "Review Next Diff" says nothing waits, and we poll on.
      const accepted = await acceptNextDiff(page, setStep, decidedRevs);
      if (accepted) {
        decidedRevs.add(accepted.rev);
        wholesale++;
        if (accepted.beadId === subject.beadId) subject.revs.push(accepted.rev);
      }
    }
    await sleep(700);
  }
  const rows = await beadRows(page);
  const tasks = rows.filter((r) => r.level >= 2);
  if (!(tasks.length > 0 && tasks.every((r) => statusOf(r.description) === "closed"))) {
    throw new StepFailed(`timed out after ${opts.timeout} s: ${summary(rows)}`);
  }
  if (!subject) throw new StepFailed("no bead ever waited for review (is gastown.autoMerge false?)");
  const afterVerdict = subject.statuses.slice(subject.statuses.indexOf("decided") + 1);
  // Back to work: seen in progress in the tree (polled, so a quick rework can slip by), or a new
  // revision of its branch came up for review.
  const backToWork = afterVerdict.some((s) => s === "in_progress" || s === "open") || subject.revs.length > 1;
  log(
    `"${subject.label}" after the verdicts: ${afterVerdict.join(" → ")}; revisions reviewed ${subject.revs.join(", ")}; ` +
      `${wholesale} branch(es) accepted whole`,
  );
  if (!backToWork) throw new StepFailed(`"${subject.label}" never went back to work after the rejection`);
  evidence({ reviewed: subject.label, statuses: subject.statuses, revisions: subject.revs, wholesale });
  await shot("10-review-closed");
}

/** Open a bead's diff from the tree; accept one hunk; reject another with a comment (Comments API). */
async function decideHunks(page, label, opts, shot, setStep) {
  setStep(`review "${label}": open its diff from the Beads view`);
  await treeContextAction(page, "Beads", label, "Open Diff");
  let diff = await activeDiff(page, `open the diff of "${label}"`);
  await waitForLens(page, diff, /Accept hunk/, "the hunk lenses");
  const firstTab = await activeTabTitle(page);
  const hunks = await lensCount(diff, "Accept hunk");
  log(`diff of "${label}": tab "${firstTab}", ${hunks} hunk(s) in this file`);
  await shot("07-review-diff");

  setStep(`review "${label}": accept the first hunk (lens "Accept hunk")`);
  // The first verdict may come while the Refinery still verifies the branch: if the server says so,
  // wait and click again.
  await verdictWithRetry(page, () => clickLens(diff, "Accept hunk", 0), /accepted 1 hunk/i, step());
  await waitForLens(page, diff, /Hunk accepted/, "the accepted hunk's lens");
  const accepted = await activeTabTitle(page);

  if (hunks < 2) {
    // One hunk per file: the other hunk is in the bead's next file (another diff tab of the same bead).
    const beadId = beadOf(firstTab);
    const other = page.locator(".tabs-container .tab", { hasText: `(${beadId}` }).filter({ hasNotText: firstTab.split(" ")[0] }).first();
    if (!beadId || (await other.count()) === 0) {
      throw new StepFailed(`"${label}" has one hunk in one file: the review needs a bead with two hunks`);
    }
    await other.click();
    diff = await activeDiff(page, "open the bead's other file");
    await waitForLens(page, diff, /Accept hunk/, "the other file's hunk lenses");
  }
  setStep(`review "${label}": reject ${hunks < 2 ? "the other file's hunk" : "the second hunk"} with a comment`);
  // The accepted hunk has no buttons any more: the first "Comment" lens is the next hunk's.
  await clickLens(diff, "Comment", 0);
  const widget = page.locator(".review-widget").filter({ visible: true }).first();
  await widget.waitFor({ state: "visible", timeout: 10_000 });
  // The reply box may show collapsed (a prompt button) until clicked.
  const expand = widget.locator(".review-thread-reply-button").filter({ visible: true }).first();
  if (await expand.count()) await expand.click();
  await widget.locator(".comment-form .monaco-editor").filter({ visible: true }).first().click();
  await page.keyboard.type(opts.comment);
  await shot("08-review-comment");
  await widget.locator(".monaco-button", { hasText: "Request Changes" }).first().click();
  await waitForNotification(page, /rejected 1 hunk/i, step());
  await waitForLens(page, diff, /Hunk rejected/, "the rejected hunk's lens");
  const rejected = await activeTabTitle(page);
  log(`accepted a hunk in "${accepted}", rejected one in "${rejected}" with "${opts.comment}"`);
  evidence({ acceptedIn: accepted, rejectedIn: rejected, comment: opts.comment });
  await shot("09-review-decided");
  return { rev: revOf(firstTab), beadId: beadOf(firstTab) };

  function step() {
    return `review "${label}"`;
  }
}

/**
 * "Gas Town: Review Next Diff", then the branch lens "Accept branch". Returns {label, rev} of what was
 * accepted, or undefined when nothing new waits (a revision already decided, or "no bead is waiting").
 */
async function acceptNextDiff(page, setStep, decidedRevs) {
  setStep("review: open the next diff (palette) and accept the branch");
  await dismissNotifications(page);
  await findInPalette(page, "Gas Town: Review Next Diff", "Review Next Diff in the palette");
  await page.keyboard.press("Enter");
  const opened = await retry("the next diff", 30_000, async () => {
    if (await notificationMatching(page, /no bead is waiting for review/i)) return { none: true };
    const tab = await activeTabTitle(page);
    const rev = revOf(tab);
    return rev && !decidedRevs.has(rev) ? { tab, rev } : false;
  });
  if (opened.none) return undefined;
  const diff = await activeDiff(page, "the next diff");
  await waitForLens(page, diff, /Accept branch/, "the branch lens");
  await clickLens(diff, "Accept branch", 0);
  await waitForNotification(page, /accepted the branch/i, "accept the branch");
  log(`accepted the branch of "${opened.tab}"`);
  const beadId = beadOf(opened.tab);
  return { rev: opened.rev, beadId };
}

/** The bead a review tab shows: "path (gt-1 @ abc1234)". */
function beadOf(tab) {
  return /\(([^ @,)]+) @/.exec(tab ?? "")?.[1];
}

/** The branch revision a review tab shows: "path (gt-1 @ abc1234)". */
function revOf(tab) {
  return /@ ([0-9a-f]{7})/.exec(tab ?? "")?.[1];
}

async function dismissNotifications(page) {
  await page.keyboard.press("Escape").catch(() => {});
  for (const close of await page.locator(".notifications-toasts .codicon-notifications-clear").all().catch(() => [])) {
    await close.click({ timeout: 1_000, force: true }).catch(() => {});
  }
}

function statusOf(description) {
  return description.split(" · ")[1] ?? "?";
}

// --- workbench helpers ------------------------------------------------------------------------------

async function openPalette(page) {
  await page.locator(".monaco-workbench").click({ position: { x: 700, y: 450 }, force: true }).catch(() => {});
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input").first();
  await input.waitFor({ state: "visible", timeout: 5_000 });
  // F1 opens with ">" already typed; make sure the box holds exactly ">" before typing.
  await input.fill(">");
}

/** Open the palette and type a command until its row shows (the extension may still be registering). */
async function findInPalette(page, command, what) {
  await retry(what, 60_000, async () => {
    await openPalette(page);
    await page.keyboard.type(command);
    const row = page.locator(".quick-input-list .monaco-list-row", { hasText: command }).first();
    try {
      await row.waitFor({ state: "visible", timeout: 3_000 });
      return true;
    } catch {
      await page.keyboard.press("Escape");
      return false;
    }
  });
}

function pane(page, name) {
  return page.locator(".pane", { has: page.locator(".pane-header", { hasText: new RegExp(`^\\s*${name}`, "i") }) }).first();
}

/** Every visible row of a tree pane: label, description, tree level. */
async function paneRows(page, name) {
  return page.evaluate((name) => {
    const panes = [...document.querySelectorAll(".pane")];
    const re = new RegExp(`^\\s*${name}(?![a-z])`, "i"); // the header may run on into its description ("Agents0 tok")
    const pane = panes.find((p) => re.test(p.querySelector(".pane-header")?.textContent ?? ""));
    if (!pane) return [];
    return [...pane.querySelectorAll(".pane-body .monaco-list-row")].map((row) => ({
      label: row.querySelector(".label-name")?.textContent?.trim() ?? "",
      description: row.querySelector(".label-description")?.textContent?.trim() ?? "",
      level: Number(row.getAttribute("aria-level") ?? "1"),
    }));
  }, name);
}

const beadRows = (page) => paneRows(page, "Beads");
const agentRows = (page) => paneRows(page, "Agents");

function treeRow(page, paneName, label) {
  return pane(page, paneName)
    .locator(".pane-body .monaco-list-row", { has: page.locator(".label-name", { hasText: label }) })
    .first();
}

/** Right-click a tree row and pick an entry of its context menu. */
async function treeContextAction(page, paneName, label, action) {
  await retry(`${action} on "${label}"`, 20_000, async () => {
    const row = treeRow(page, paneName, label);
    await row.click({ button: "right", timeout: 3_000 });
    const item = page.locator(".context-view .monaco-menu .action-item", { hasText: action }).first();
    try {
      await item.waitFor({ state: "visible", timeout: 3_000 });
    } catch {
      await page.keyboard.press("Escape");
      return false;
    }
    // A menu ignores clicks that come right after it opened (the right-click's own mouse-up): hover the
    // entry until the menu highlights it (it handles mouse events by then), click, and check that it closed.
    await item.hover();
    try {
      await page
        .locator(".context-view .monaco-menu .action-item.focused", { hasText: action })
        .first()
        .waitFor({ state: "visible", timeout: 3_000 });
    } catch {
      await page.keyboard.press("Escape");
      return false;
    }
    await item.click();
    try {
      await item.waitFor({ state: "hidden", timeout: 2_000 });
      return true;
    } catch {
      await page.keyboard.press("Escape");
      return false;
    }
  });
}

async function statusBarText(page) {
  const items = await page.locator(".statusbar-item", { hasText: /running/ }).allTextContents().catch(() => []);
  return items.map((t) => t.trim()).find(Boolean) ?? "";
}

async function activeTabTitle(page) {
  return (await page.locator(".editor-group-container.active .tab.active .label-name").first().textContent().catch(() => null))?.trim();
}

async function visibleEditorText(page) {
  // Monaco draws spaces as no-break spaces.
  const text = await page
    .locator(".editor-group-container.active .monaco-editor .view-lines")
    .filter({ visible: true })
    .first()
    .innerText({ timeout: 3_000 })
    .catch(() => "");
  return text.replace(/\u00a0/g, " ");
}

/** The modified (head) side of the diff editor in the active group. */
async function activeDiff(page, what) {
  const modified = page.locator(".editor-group-container.active .monaco-diff-editor .editor.modified").filter({ visible: true }).first();
  await retry(`${what}: a diff editor`, 30_000, async () => {
    await modified.waitFor({ state: "visible", timeout: 2_000 });
    return true;
  });
  return modified;
}

async function waitForLens(page, editor, pattern, what) {
  return retry(`${what} (code lens ${pattern})`, 30_000, async () => {
    const failure = await notificationMatching(page, /review was not recorded|not available/i);
    if (failure) throw new StepFailed(`the extension reported: ${failure}`);
    // A lens with a command is an <a>; a plain one (no command) a <span>.
    const texts = await editor.locator(".codelens-decoration > a, .codelens-decoration > span").allTextContents();
    return texts.map((t) => t.trim()).find((t) => pattern.test(t)) ?? false;
  });
}

async function lensCount(editor, title) {
  return editor.locator(".codelens-decoration a", { hasText: title }).count();
}

async function clickLens(editor, title, index) {
  const lens = editor.locator(".codelens-decoration a", { hasText: title }).nth(index);
  await lens.scrollIntoViewIfNeeded().catch(() => {});
  await lens.click();
}

async function notificationMatching(page, pattern) {
  const texts = await page
    .locator(".notifications-toasts .notification-list-item-message, .notifications-center .notification-list-item-message")
    .allTextContents()
    .catch(() => []);
  return texts.find((t) => pattern.test(t));
}

/** Run a verdict; retry while the server answers that the bead is not ready for it yet. */
async function verdictWithRetry(page, act, success, what, ms = 90_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    await dismissNotifications(page);
    await act();
    const outcome = await retry(`${what}: a notification ${success}`, 30_000, async () => {
      const ok = await notificationMatching(page, success);
      if (ok) return { ok };
      const refused = await notificationMatching(page, /review was not recorded/i);
      return refused ? { refused } : false;
    });
    if (outcome.ok) return outcome.ok;
    if (!/verif|right now|not waiting|not ready|queue/i.test(outcome.refused) || Date.now() > deadline) {
      throw new StepFailed(`the extension reported: ${outcome.refused}`);
    }
    log(`not yet: ${outcome.refused}; again in 2 s`);
    await sleep(2_000);
  }
}

async function waitForNotification(page, pattern, what) {
  return retry(`${what}: a notification ${pattern}`, 30_000, async () => {
    const failure = await notificationMatching(page, /review was not recorded/i);
    if (failure) throw new StepFailed(`the extension reported: ${failure}`);
    return notificationMatching(page, pattern);
  });
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
  throw new Error(`${what}: timed out after ${Math.round(ms / 1000)} s${lastError ? ` (last error: ${lastError.message})` : ""}`);
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
