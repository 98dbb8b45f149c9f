// The Agents view's data, without VS Code: `gastown/agentStatus` sends the full list each time.
import { compareIds } from "../ids";
import type { AgentInfo } from "../protocol";

/**
 * An agent as the views show it. `question` is what a polecat in state needs-input asked; the server's
 * AgentInfo gains it as `question` (until then it is simply absent).
 */
export type AgentRow = AgentInfo & { question?: string | null };

/** The question an agent waits on the Overseer for, if it is waiting. */
export function questionOf(agent: AgentRow): string | undefined {
  if (agent.state !== "needs-input") return undefined;
  return agent.question?.trim() || agent.detail?.trim() || "(no question text)";
}

/** One line of a question for a row or a notification. */
export function shortQuestion(text: string, max = 80): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

const ROLE_ORDER: Record<string, number> = { mayor: 0, witness: 1, refinery: 2, polecat: 3 };

/** States in which an agent is alive and its clock runs. */
export const ACTIVE_STATES: ReadonlySet<AgentInfo["state"]> = new Set(["starting", "working", "needs-input", "stalled", "merging"]);

export function isActive(agent: AgentInfo): boolean {
  return ACTIVE_STATES.has(agent.state);
}

/** Mayor, witness, refinery, then polecats by id (natural order: polecat-gt-x.2 before polecat-gt-x.10). */
export function sortAgents(agents: readonly AgentInfo[]): AgentInfo[] {
  return [...agents].sort((a, b) => (ROLE_ORDER[a.role] ?? 9) - (ROLE_ORDER[b.role] ?? 9) || compareIds(a.id, b.id));
}

/** "1.2k tok" style token counts. */
export function formatTokens(n: number | undefined): string | undefined {
  if (!n) return undefined;
  if (n < 1000) return `${n} tok`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k tok`;
  return `${(n / 1_000_000).toFixed(1)}M tok`;
}

/** "m:ss" or "h:mm:ss". */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** How long the agent has run: until now while it is active, else until its last update. */
export function elapsedMs(agent: AgentInfo, now: number): number | undefined {
  const start = agent.started_at ? Date.parse(agent.started_at) : NaN;
  if (Number.isNaN(start)) return undefined;
  const end = isActive(agent) ? now : agent.updated_at ? Date.parse(agent.updated_at) : now;
  return Math.max(0, (Number.isNaN(end) ? now : end) - start);
}

/** "working · gt-a1b2 · on h1 · create_file · 1.2k tok · 0:42" (each part only when there is one; "on …" for a
 * polecat on a runtime host). */
export function agentDescription(agent: AgentRow, now?: number): string {
  const parts: string[] = [agent.state];
  if (agent.bead_id) parts.push(agent.bead_id);
  if (agent.host) parts.push(`on ${agent.host}`);
  const question = questionOf(agent);
  if (question) parts.push(`“${shortQuestion(question, 60)}”`);
  if (agent.current_tool) parts.push(agent.current_tool);
  const tokens = formatTokens(agent.tokens);
  if (tokens) parts.push(tokens);
  if (now !== undefined) {
    const ms = elapsedMs(agent, now);
    if (ms !== undefined) parts.push(formatElapsed(ms));
  }
  return parts.join(" · ");
}

export function agentTooltip(agent: AgentRow, now?: number): string {
  const lines = [`**${agent.id}** (${agent.role}) · ${agent.state}`];
  const question = questionOf(agent);
  if (question) lines.push("", "**Asks you:**", "", question, "", "_Answer it with **Answer…** (right-click the row)._");
  if (agent.bead_id) lines.push("", `Bead: ${agent.bead_id}`);
  if (agent.branch) lines.push("", `Branch: \`${agent.branch}\``);
  lines.push("", `Runs on: ${agent.host ? `runtime host ${agent.host}` : "this machine"}`);
  if (agent.worktree) lines.push("", `Worktree: \`${agent.worktree}\``);
  if (agent.current_tool) lines.push("", `Tool: ${agent.current_tool}`);
  if (agent.tokens) lines.push("", `Tokens: ${agent.tokens}`);
  if (now !== undefined) {
    const ms = elapsedMs(agent, now);
    if (ms !== undefined) lines.push("", `Elapsed: ${formatElapsed(ms)}`);
  }
  if (agent.detail) lines.push("", agent.detail);
  return lines.join("\n");
}

export function agentIcon(state: AgentInfo["state"]): { id: string; color?: string } {
  switch (state) {
    case "starting":
      return { id: "loading" };
    case "working":
      return { id: "sync", color: "charts.blue" };
    case "merging":
      return { id: "git-merge", color: "charts.purple" };
    case "needs-input":
      return { id: "question", color: "charts.yellow" };
    case "stalled":
      return { id: "warning", color: "charts.orange" };
    case "failed":
      return { id: "error", color: "charts.red" };
    case "done":
      return { id: "pass-filled", color: "charts.green" };
    case "idle":
    default:
      return { id: "person" };
  }
}

/** Bead id -> the agent working on it (the latest active one wins, else the latest). */
export function agentsByBead(agents: readonly AgentInfo[]): Map<string, AgentInfo> {
  const out = new Map<string, AgentInfo>();
  for (const agent of agents) {
    if (!agent.bead_id) continue;
    const seen = out.get(agent.bead_id);
    if (!seen || (isActive(agent) && !isActive(seen)) || (isActive(agent) === isActive(seen) && (agent.updated_at ?? "") > (seen.updated_at ?? ""))) {
      out.set(agent.bead_id, agent);
    }
  }
  return out;
}

/** The status bar's figures. */
export interface TownSummary {
  running: number;
  ready: number | undefined;
  review: number;
  tokens: number;
  /** Agents waiting for the Overseer's answer. */
  needYou: number;
  /** Human steps ready for the Overseer (do them, then close them): counted with `needYou`. */
  humanSteps?: number;
  /** The town's costs so far (gastown/costs), a line for the tooltip. */
  costs?: string;
}

export function summaryText(s: TownSummary): string {
  const parts = [`$(organization) ${s.running} running`];
  const needYou = s.needYou + (s.humanSteps ?? 0);
  if (needYou) parts.push(`$(bell-dot) ${needYou} need you`);
  parts.push(s.ready === undefined ? "… ready" : `${s.ready} ready`);
  if (s.review) parts.push(`$(git-pull-request) ${s.review} to review`);
  const tokens = formatTokens(s.tokens);
  if (tokens) parts.push(tokens);
  return parts.join(" · ");
}

export function summaryTooltip(s: TownSummary): string {
  return [
    `Gas Town: ${s.running} agent${s.running === 1 ? "" : "s"} running`,
    `${s.ready ?? "?"} bead${s.ready === 1 ? "" : "s"} ready to dispatch`,
    `${s.review} waiting for review`,
    `${s.needYou} agent${s.needYou === 1 ? "" : "s"} waiting for your answer`,
    ...(s.humanSteps ? [`${s.humanSteps} human step${s.humanSteps === 1 ? "" : "s"} for you to do, then close`] : []),
    `${s.tokens} tokens used by the agents listed`,
    ...(s.costs ? [s.costs] : []),
  ].join("\n");
}

/** The status bar's agent figures: polecats at work, agents waiting for an answer, tokens used. */
export function agentFigures(agents: readonly AgentInfo[]): Pick<TownSummary, "running" | "tokens" | "needYou"> {
  let running = 0;
  let tokens = 0;
  let needYou = 0;
  for (const a of agents) {
    if (a.role === "polecat" && isActive(a)) running++;
    if (a.state === "needs-input") needYou++;
    tokens += a.tokens ?? 0;
  }
  return { running, tokens, needYou };
}

/**
 * Questions to tell the Overseer about: agents now waiting whose question was not told yet. `told` maps
 * agent id -> the question told; it is updated (agents no longer waiting are dropped, so a new question
 * later is told again).
 */
export function newQuestions(agents: readonly AgentRow[], told: Map<string, string>): AgentRow[] {
  const fresh: AgentRow[] = [];
  const waiting = new Set<string>();
  for (const agent of agents) {
    const question = questionOf(agent);
    if (!question) continue;
    waiting.add(agent.id);
    if (told.get(agent.id) !== question) {
      told.set(agent.id, question);
      fresh.push(agent);
    }
  }
  for (const id of [...told.keys()]) if (!waiting.has(id)) told.delete(id);
  return fresh;
}
