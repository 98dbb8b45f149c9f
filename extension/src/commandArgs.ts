// Pure helpers of the commands (no VS Code): what a command argument names, and which bead to review next.
// Kept apart from commands.ts so tests and other modules use them without registering commands.
import type { AgentInfo, BeadSummary } from "./protocol";
import { isActive } from "./views/agentsModel";
import { compareBeads } from "./views/beadsModel";

/** A bead id from a command argument: an id, a tree node, or a bead summary. */
export function beadIdOf(arg: unknown): string | undefined {
  if (typeof arg === "string" && arg) return arg;
  if (arg && typeof arg === "object") {
    const o = arg as { bead?: { id?: unknown }; id?: unknown };
    if (o.bead && typeof o.bead.id === "string") return o.bead.id;
    if (typeof o.id === "string" && !("role" in o)) return o.id;
  }
  return undefined;
}

/** An agent id from a command argument: an id or an AgentInfo row. */
export function agentIdOf(arg: unknown): string | undefined {
  if (typeof arg === "string" && arg) return arg;
  if (arg && typeof arg === "object" && typeof (arg as AgentInfo).id === "string") return (arg as AgentInfo).id;
  return undefined;
}

/** An epic whose plan waits for the Overseer (plan approval on). */
export function isDraftEpic(b: BeadSummary): boolean {
  return b.issue_type === "epic" && b.status === "draft";
}

/** The bead whose diff to review next: status "review", highest priority first. */
export function nextForReview(all: readonly BeadSummary[], skip: ReadonlySet<string> = new Set()): BeadSummary | undefined {
  return [...all].filter((b) => b.status === "review" && !skip.has(b.id)).sort(compareBeads)[0];
}

/** A polecat that can be messaged: alive and working a bead. */
export function canMessage(agent: AgentInfo): boolean {
  return agent.role === "polecat" && !!agent.bead_id && isActive(agent);
}
