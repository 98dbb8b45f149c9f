// The Beads tree's data, without VS Code: a versioned copy of the server's ledger summaries, the
// epic -> children tree, and the sync rule for `gastown/beadsChanged` deltas. Tested by vitest directly.
import type { BeadsChanged, BeadsResult, BeadSummary } from "../protocol";

export interface BeadNode {
  bead: BeadSummary;
  children: BeadNode[];
}

/** What happened to one delta. */
export type DeltaOutcome =
  | "applied" // version was known + 1
  | "stale" // version <= known: already reflected, ignored
  | "gap"; // a version was missed (or nothing is known yet): the caller must re-fetch

/** Rows sort by priority (0 first), then id, so the tree is stable across updates. */
export function compareBeads(a: BeadSummary, b: BeadSummary): number {
  return a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Roots are beads without a parent or whose parent is not in the list; children hang under parents. */
export function buildTree(beads: Iterable<BeadSummary>): BeadNode[] {
  const nodes = new Map<string, BeadNode>();
  for (const bead of beads) nodes.set(bead.id, { bead, children: [] });
  const roots: BeadNode[] = [];
  for (const node of nodes.values()) {
    const parentId = node.bead.parent;
    const parent = parentId && parentId !== node.bead.id ? nodes.get(parentId) : undefined;
    if (parent && !isAncestor(nodes, node.bead.id, parent.bead.id)) parent.children.push(node);
    else roots.push(node);
  }
  const sort = (list: BeadNode[]) => {
    list.sort((x, y) => compareBeads(x.bead, y.bead));
    for (const n of list) sort(n.children);
  };
  sort(roots);
  return roots;
}

/** True if `id` is an ancestor of `of` (guards against parent cycles, which would lose beads). */
function isAncestor(nodes: Map<string, BeadNode>, id: string, of: string): boolean {
  const seen = new Set<string>();
  let cur: string | null | undefined = of;
  while (cur && !seen.has(cur)) {
    if (cur === id) return true;
    seen.add(cur);
    cur = nodes.get(cur)?.bead.parent;
  }
  return false;
}

/** "P1 · in_progress · polecat-gt-a1b2" (the assignee part only when there is one). */
export function beadDescription(bead: BeadSummary): string {
  const parts = [`P${bead.priority}`, bead.status];
  if (bead.assignee) parts.push(bead.assignee);
  return parts.join(" · ");
}

/** Markdown tooltip: id, type, status, and the acceptance criteria when present. */
export function beadTooltip(bead: BeadSummary): string {
  const lines = [`**${bead.id}** · ${bead.issue_type} · ${bead.status}`, "", bead.title];
  if (bead.labels && bead.labels.length) lines.push("", `Labels: ${bead.labels.join(", ")}`);
  if (bead.acceptance_criteria) lines.push("", "**Acceptance criteria**", "", bead.acceptance_criteria);
  return lines.join("\n");
}

/** Codicon and theme colour for a status. */
export function statusIcon(status: string): { id: string; color?: string } {
  switch (status) {
    case "open":
      return { id: "circle-large-outline" };
    case "in_progress":
    case "hooked":
      return { id: "sync", color: "charts.blue" };
    case "review":
      return { id: "git-pull-request", color: "charts.purple" };
    case "blocked":
      return { id: "error", color: "charts.red" };
    case "deferred":
      return { id: "clock" };
    case "closed":
      return { id: "pass-filled", color: "charts.green" };
    case "tombstone":
      return { id: "trash" };
    default:
      return { id: "circle-outline" };
  }
}

/** The client's copy of the ledger: beads by id and the version they reflect. */
export class BeadsModel {
  private beads = new Map<string, BeadSummary>();
  private known: number | undefined;

  get version(): number | undefined {
    return this.known;
  }

  get size(): number {
    return this.beads.size;
  }

  get(id: string): BeadSummary | undefined {
    return this.beads.get(id);
  }

  all(): BeadSummary[] {
    return [...this.beads.values()].sort(compareBeads);
  }

  /** Replace everything with a full `gastown/beads` answer. */
  reset(result: BeadsResult): void {
    this.beads = new Map(result.beads.map((b) => [b.id, b]));
    this.known = result.version;
  }

  /** Apply a delta only if it is the next version; say whether it was applied, old, or a gap. */
  apply(delta: BeadsChanged): DeltaOutcome {
    if (this.known === undefined) return "gap";
    if (delta.version <= this.known) return "stale";
    if (delta.version !== this.known + 1) return "gap";
    for (const id of delta.removed ?? []) this.beads.delete(id);
    for (const bead of delta.changed ?? []) this.beads.set(bead.id, bead);
    this.known = delta.version;
    return "applied";
  }

  tree(): BeadNode[] {
    return buildTree(this.beads.values());
  }
}

/**
 * Keeps a BeadsModel in step with the server: a full fetch at start, deltas as they come, a re-fetch
 * when a delta shows a gap. Deltas that arrive while a fetch is in flight are held and replayed on top
 * of its answer (those it already reflects are dropped as stale).
 */
export class BeadsSync {
  readonly model = new BeadsModel();
  private fetching: Promise<void> | undefined;
  private held: BeadsChanged[] = [];
  /** Number of full fetches made (for tests and the log). */
  fetches = 0;

  constructor(
    private readonly fetchAll: () => Promise<BeadsResult>,
    private readonly onChange: () => void = () => {},
    private readonly maxRefetches = 3,
  ) {}

  /** Fetch everything (coalesced: concurrent callers share one request). */
  refresh(): Promise<void> {
    if (!this.fetching) {
      this.fetching = this.fetchLoop().finally(() => {
        this.fetching = undefined;
      });
    }
    return this.fetching;
  }

  /** Handle one `gastown/beadsChanged` notification. Resolves when the model reflects it. */
  onDelta(delta: BeadsChanged): Promise<void> {
    if (this.fetching) {
      this.held.push(delta);
      return this.fetching;
    }
    const outcome = this.model.apply(delta);
    if (outcome === "applied") {
      this.onChange();
      return Promise.resolve();
    }
    if (outcome === "gap") {
      this.held.push(delta);
      return this.refresh();
    }
    return Promise.resolve();
  }

  private async fetchLoop(): Promise<void> {
    await Promise.resolve(); // let refresh() record this fetch before fetchAll can deliver anything
    for (let attempt = 0; attempt < this.maxRefetches; attempt++) {
      this.fetches++;
      const result = await this.fetchAll();
      this.model.reset(result);
      const held = this.held.sort((a, b) => a.version - b.version);
      this.held = [];
      let gap = false;
      for (const delta of held) {
        if (this.model.apply(delta) === "gap") {
          gap = true;
          break;
        }
      }
      this.onChange();
      if (!gap) return;
    }
  }
}
