// The Agents view's data, without VS Code: `gastown/agentStatus` sends the full list each time.
import type { AgentInfo } from "../protocol";

const ROLE_ORDER: Record<string, number> = { mayor: 0, witness: 1, refinery: 2, polecat: 3 };

/** Mayor, witness, refinery, then polecats by id. */
export function sortAgents(agents: readonly AgentInfo[]): AgentInfo[] {
  return [...agents].sort(
    (a, b) => (ROLE_ORDER[a.role] ?? 9) - (ROLE_ORDER[b.role] ?? 9) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** "working · gt-a1b2 · create_file" (bead and tool only when there are some). */
export function agentDescription(agent: AgentInfo): string {
  const parts: string[] = [agent.state];
  if (agent.bead_id) parts.push(agent.bead_id);
  if (agent.current_tool) parts.push(agent.current_tool);
  return parts.join(" · ");
}

export function agentTooltip(agent: AgentInfo): string {
  const lines = [`**${agent.id}** (${agent.role}) · ${agent.state}`];
  if (agent.bead_id) lines.push("", `Bead: ${agent.bead_id}`);
  if (agent.branch) lines.push("", `Branch: \`${agent.branch}\``);
  if (agent.current_tool) lines.push("", `Tool: ${agent.current_tool}`);
  if (agent.tokens) lines.push("", `Tokens: ${agent.tokens}`);
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
