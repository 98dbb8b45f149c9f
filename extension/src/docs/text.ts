// Text of the read-only documents the extension shows, without VS Code: a bead as Markdown, and one line
// per agent event for an agent's log.
import type { AgentEventNote, Bead } from "../protocol";

/** A bead as a Markdown page (gastown/bead's answer). */
export function beadMarkdown(bead: Bead): string {
  const out: string[] = [`# ${bead.title}`, ""];
  const facts = [
    `**${bead.id}**`,
    bead.issue_type ?? "task",
    bead.status ?? "open",
    `P${bead.priority ?? 2}`,
  ];
  out.push(facts.join(" · "), "");
  const meta: Array<[string, unknown]> = [
    ["Assignee", bead.assignee],
    ["Owner", bead.owner],
    ["Created", bead.created_at && `${bead.created_at}${bead.created_by ? ` by ${bead.created_by}` : ""}`],
    ["Updated", bead.updated_at],
    ["Closed", bead.closed_at && `${bead.closed_at}${bead.close_reason ? ` — ${bead.close_reason}` : ""}`],
    ["Labels", bead.labels && bead.labels.length ? bead.labels.join(", ") : undefined],
    ["External", bead.external_ref],
  ];
  for (const [k, v] of meta) if (v) out.push(`- ${k}: ${String(v)}`);
  if (out[out.length - 1] !== "") out.push("");
  const sections: Array<[string, string | null | undefined]> = [
    ["Description", bead.description],
    ["Design", bead.design],
    ["Acceptance criteria", bead.acceptance_criteria],
    ["Notes", bead.notes],
  ];
  for (const [title, text] of sections) if (text && text.trim()) out.push(`## ${title}`, "", text.trim(), "");
  const deps = bead.dependencies ?? [];
  if (deps.length) {
    out.push("## Dependencies", "");
    for (const d of deps) out.push(`- ${d.type ?? "blocks"} → ${d.depends_on_id}`);
    out.push("");
  }
  const comments = bead.comments ?? [];
  if (comments.length) {
    out.push("## Comments", "");
    for (const c of comments) {
      out.push(`**${c.author ?? "?"}**${c.created_at ? ` · ${c.created_at}` : ""}`, "", c.text.trim(), "");
    }
  }
  return out.join("\n");
}

/** "11:08:35  tool.execution_start  create  ✓  text" */
export function eventLine(note: AgentEventNote): string {
  const time = /T(\d\d:\d\d:\d\d)/.exec(note.at)?.[1] ?? note.at;
  const parts = [time, note.kind.padEnd(24)];
  if (note.tool) parts.push(note.tool);
  if (note.approved === true) parts.push("(approved)");
  if (note.approved === false) parts.push("(denied)");
  if (note.text) parts.push(note.text.replace(/\s*\n\s*/g, " ⏎ "));
  return parts.join("  ").trimEnd();
}

/** The gastown/agentEvent stream, kept per agent (bounded) for the log documents. */
export class AgentLogs {
  private readonly logs = new Map<string, string[]>();

  constructor(private readonly maxLines = 5000) {}

  add(note: AgentEventNote): void {
    let lines = this.logs.get(note.agent);
    if (!lines) this.logs.set(note.agent, (lines = []));
    lines.push(eventLine(note));
    if (lines.length > this.maxLines) lines.splice(0, lines.length - this.maxLines);
  }

  text(agent: string): string {
    const lines = this.logs.get(agent);
    if (!lines || lines.length === 0) return `(no events from ${agent} yet: they appear here as they stream)\n`;
    return `${lines.join("\n")}\n`;
  }

  agents(): string[] {
    return [...this.logs.keys()].sort();
  }

  lineCount(agent: string): number {
    return this.logs.get(agent)?.length ?? 0;
  }
}
