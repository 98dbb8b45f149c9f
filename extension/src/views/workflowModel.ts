// Convoys and costs without VS Code: the Convoys node's rows and the costs captions (Agents view header,
// status bar tooltip). workflow.ts turns these into tree items.
import type { ConvoyMember, ConvoyProgress, CostLine, CostsResult } from "../protocol";
import { formatTokens } from "./agentsModel";

export const CONVOY_TYPE = "convoy";

/** "1/3 merged · 0/3 landed", or where the whole convoy got. */
export function convoyDescription(p: ConvoyProgress): string {
  if (p.landed_at) return `landed on ${p.landed_on ?? "your branch"} · ${p.total}/${p.total}`;
  if (p.merged_at) return `merged · ${p.landed}/${p.total} landed`;
  return `${p.merged}/${p.total} merged · ${p.landed}/${p.total} landed`;
}

/** The Convoys node's own description: how many convoys, how many landed. */
export function convoysSummary(list: readonly ConvoyProgress[]): string {
  const landed = list.filter((p) => p.landed_at).length;
  return `${list.length} convoy${list.length === 1 ? "" : "s"}${landed ? ` · ${landed} landed` : ""}`;
}

export function convoyIcon(p: ConvoyProgress): { id: string; color?: string } {
  if (p.landed_at) return { id: "pass-filled", color: "testing.iconPassed" };
  if (p.merged_at) return { id: "git-merge", color: "charts.blue" };
  return { id: "package" };
}

export type MemberState = "landed" | "merged" | string;

export function memberState(m: ConvoyMember): MemberState {
  return m.landed ? "landed" : m.merged ? "merged" : m.status;
}

export function memberIcon(m: ConvoyMember): { id: string; color?: string } {
  if (m.landed) return { id: "pass-filled", color: "testing.iconPassed" };
  if (m.merged) return { id: "git-merge", color: "charts.blue" };
  return { id: "circle-large-outline" };
}

export function convoyTooltip(p: ConvoyProgress): string {
  const lines = [`**Convoy ${p.name}** (${p.id})`, "", `${p.merged} of ${p.total} beads merged, ${p.landed} landed`];
  if (p.merged_at) lines.push(`All merged at ${p.merged_at}`);
  if (p.landed_at) lines.push(`Landed on ${p.landed_on ?? "?"} at ${p.landed_at}`);
  lines.push("", `Tracks: ${p.tracked.join(", ")}`);
  return lines.join("\n");
}

/** Tree-item ids must be unique in the view: a bead in a convoy is also a row of its own. */
export function memberRowId(convoyId: string, beadId: string): string {
  return `convoy:${convoyId}:${beadId}`;
}

/** "42 s", "3m 05s", "1h 02m". */
export function formatSeconds(seconds: number | undefined): string {
  const s = Math.max(0, seconds ?? 0);
  if (s < 60) return `${s.toFixed(0)} s`;
  const minutes = Math.floor(Math.round(s) / 60);
  if (minutes >= 60) return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
  return `${minutes}m ${String(Math.round(s) % 60).padStart(2, "0")}s`;
}

const ROLE_NAMES: Record<string, string> = { mayor: "Mayor", polecat: "polecats", reviewer: "reviewer" };

function tokensOf(line: CostLine | undefined): number {
  return line?.tokens ?? 0;
}

/** The Agents view's header: "12k tok · 3m 05s" in total, or nothing before any run. */
export function costsCaption(report: CostsResult | undefined): string | undefined {
  if (!report?.total?.runs) return undefined;
  return `${formatTokens(tokensOf(report.total)) ?? "0 tok"} · ${formatSeconds(report.total.seconds)}`;
}

/** The status bar tooltip's line: totals, then each role that spent something. */
export function costsTooltip(report: CostsResult | undefined): string | undefined {
  if (!report?.total?.runs) return undefined;
  const roles = Object.entries(report.by_role ?? {})
    .filter(([, line]) => (line?.runs ?? 0) > 0)
    .map(([role, line]) => `${ROLE_NAMES[role] ?? role} ${tokensOf(line).toLocaleString("en-US")}`);
  const total = report.total;
  return (
    `Costs: ${tokensOf(total).toLocaleString("en-US")} tokens, ${formatSeconds(total.seconds)} ` +
    `in ${total.runs} run${total.runs === 1 ? "" : "s"}` +
    (roles.length ? ` (${roles.join(", ")})` : "")
  );
}
