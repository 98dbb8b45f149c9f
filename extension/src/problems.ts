// Problems a user fixes outside Gas Town, recognised in the server's messages: the Copilot CLI is missing,
// or nobody is logged in to Copilot and no BYOK provider is set. Pure matching, so it is tested without
// VS Code; problemNotices.ts shows them with the actions that fix them.

/** The Copilot CLI version the server is tested with (package.json's devDependency, checked by a test). */
export const PINNED_CLI = "1.0.102";
export const INSTALL_CLI = `npm install -g @github/copilot@${PINNED_CLI}`;

export type Problem = { kind: "cli-missing"; installCommand: string } | { kind: "login" };

// Stable markers in the server's messages (gastown.runtime's "Copilot CLI not found: …", and the SDK's
// "No GitHub OAuth token or Copilot HMAC key provided" or the server's "log in" advice that replaces it).
const CLI_MISSING = /Copilot CLI not found/i;
const INSTALL = /npm install -g @github\/copilot@[\w.+-]+/;
const LOGIN = /No GitHub OAuth token|Copilot HMAC key|not logged in/i;
const LOG_IN_ADVICE = /\blog ?in\b/i;
const ABOUT_COPILOT = /copilot|github/i;

/** The problem a server message or error reports, if it is one of these. */
export function problemIn(text: string): Problem | undefined {
  if (CLI_MISSING.test(text)) {
    return { kind: "cli-missing", installCommand: INSTALL.exec(text)?.[0] ?? INSTALL_CLI };
  }
  if (LOGIN.test(text) || (LOG_IN_ADVICE.test(text) && ABOUT_COPILOT.test(text))) return { kind: "login" };
  return undefined;
}

/** The notification's text for a problem. */
export function problemMessage(problem: Problem): string {
  if (problem.kind === "cli-missing") {
    return (
      `Gas Town needs the GitHub Copilot CLI, which was not found. Install it with \`${problem.installCommand}\`, ` +
      "or set the path of an installed one."
    );
  }
  return (
    "Gas Town: no Copilot login and no model provider of your own. Log in with `copilot` in a terminal, then " +
    "`/login` (or `gh auth login`), or set a bring-your-own-key provider (gastown.provider.*)."
  );
}

/** Each polecat that fails the same way reports it: tell the user once per minute, not once per polecat. */
export const PROBLEM_QUIET_MS = 60_000;

export function shouldTell(problem: Problem, now: number, lastTold: Map<string, number>): boolean {
  const last = lastTold.get(problem.kind);
  if (last !== undefined && now - last < PROBLEM_QUIET_MS) return false;
  lastTold.set(problem.kind, now);
  return true;
}
