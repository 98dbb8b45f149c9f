// The Beads tree's data, without VS Code: a versioned copy of the server's ledger summaries kept as an
// epic -> children tree, the sync rule for `gastown/beadsChanged` deltas, and the view's filters.
// Tree nodes are stable objects (one per bead id, updated in place), so a delta can repaint just the rows
// it touched. Tested by vitest directly; `npm run bench` times it with 10,000 beads.
import { compareIds, compareKeys, naturalKey } from "../ids";
import type { AgentInfo, Bead, BeadsChanged, BeadsResult, BeadSummary } from "../protocol";

export interface BeadNode {
  bead: BeadSummary;
  children: BeadNode[];
  /** The id's sort key (natural order), made once per node. */
  readonly key: string;
  /** The node this one hangs under (undefined for a root). */
  parent?: BeadNode;
}

/** What happened to one delta. */
export type DeltaOutcome =
  | "applied" // version was known + 1
  | "stale" // version <= known: already reflected, ignored
  | "gap"; // a version was missed (or nothing is known yet): the caller must re-fetch

/** Which rows a change touched: everything (a fresh list, or the roots changed), or some nodes. */
export type TreeChange = { all: true } | { all: false; nodes: BeadNode[] };

/** Rows sort by priority (0 first), then id in natural order (gt-x.2 before gt-x.10), so the tree is stable. */
export function compareBeads(a: BeadSummary, b: BeadSummary): number {
  return a.priority - b.priority || compareIds(a.id, b.id);
}

const byBead = (x: BeadNode, y: BeadNode) => x.bead.priority - y.bead.priority || compareKeys(x.key, y.key);

/** A full list of summaries: what BeadsModel.reset takes (a gastown/beads answer, decoded). */
export interface BeadList {
  version: number;
  beads: BeadSummary[];
}

/**
 * A gastown/beads answer as summaries. The server sends each bead as a row, an array of its BeadSummary's
 * fields in BEAD_ROW order (generated into contracts.ts; a test checks this decoder against it).
 */
export function decodeBeads(result: BeadsResult): BeadList {
  const rows = result.rows;
  const beads = new Array<BeadSummary>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [id, title, status, priority, issue_type, parent, assignee, human] = rows[i];
    beads[i] = { id, title, status, priority, issue_type, parent, assignee, human };
  }
  return { version: result.version, beads };
}

/** Roots are beads without a parent or whose parent is not in the list; children hang under parents. */
export function buildTree(beads: Iterable<BeadSummary>): BeadNode[] {
  const model = new BeadsModel();
  model.reset({ version: 0, beads: [...beads] });
  return model.tree();
}

/**
 * A human step (a formula's `type = "human"`: only the Overseer does it and closes it, no polecat ever
 * gets it): "ready" when nothing blocks it (it needs you), "waiting" while something does; undefined for
 * any other bead and for a human step already closed.
 */
export type HumanStep = "ready" | "waiting";

export function humanStep(bead: BeadSummary): HumanStep | undefined {
  if (!bead.human || DONE.has(bead.status)) return undefined;
  return bead.human === 2 ? "ready" : "waiting";
}

/** What the Overseer is told to do with a human step (the tooltip's line). */
export function humanStepHint(step: HumanStep): string {
  return step === "ready"
    ? "**Needs you**: a human step — do it yourself, then close the bead (**Close (Done by Me)**). No polecat takes it."
    : "A human step, waiting on what blocks it: once that closes it needs you (do it, then close the bead).";
}

/** "P1 · in_progress · polecat-gt-a1b2 · working" (assignee and agent only when there are some). */
export function beadDescription(bead: BeadSummary, agent?: AgentInfo): string {
  const step = humanStep(bead);
  if (step === "ready") return `needs you · P${bead.priority} · human step: do it, then close it`;
  if (step === "waiting") return `P${bead.priority} · human step · waiting`;
  const parts = [`P${bead.priority}`, bead.status];
  if (bead.assignee) parts.push(bead.assignee);
  if (agent) {
    if (agent.id !== bead.assignee) parts.push(agent.id);
    parts.push(agent.current_tool ? `${agent.state}: ${agent.current_tool}` : agent.state);
  }
  return parts.join(" · ");
}

/** What a tooltip shows beyond the row: fetched (gastown/bead) when the row is hovered. */
export type BeadDetails = Pick<Bead, "labels" | "acceptance_criteria">;

/** Markdown tooltip: id, type, status, assignee, and the labels and acceptance criteria when present. */
export function beadTooltip(bead: BeadSummary, agent?: AgentInfo, details?: BeadDetails): string {
  const lines = [`**${bead.id}** · ${bead.issue_type} · ${bead.status} · P${bead.priority}`, "", bead.title];
  const step = humanStep(bead);
  if (step) lines.push("", humanStepHint(step));
  if (bead.assignee) lines.push("", `Assignee: ${bead.assignee}`);
  if (agent) lines.push("", `Agent: ${agent.id} (${agent.state}${agent.current_tool ? `, ${agent.current_tool}` : ""})`);
  if (details?.labels && details.labels.length) lines.push("", `Labels: ${details.labels.join(", ")}`);
  if (details?.acceptance_criteria) lines.push("", "**Acceptance criteria**", "", details.acceptance_criteria);
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
    case "draft":
      return { id: "edit" };
    case "closed":
      return { id: "pass-filled", color: "charts.green" };
    case "tombstone":
      return { id: "trash" };
    default:
      return { id: "circle-outline" };
  }
}

/** A row's codicon: a human step that needs you rings, one waiting shows a person; else its status. */
export function beadIcon(bead: BeadSummary): { id: string; color?: string } {
  const step = humanStep(bead);
  if (step === "ready") return { id: "bell-dot", color: "charts.orange" };
  if (step === "waiting") return { id: "person" };
  return statusIcon(bead.status);
}

/** The row's context value (what its menus match): `bead.<type>.<status>`, `.human-ready|waiting` for a human step. */
export function beadContext(bead: BeadSummary): string {
  const step = humanStep(bead);
  return `bead.${bead.issue_type}.${bead.status}${step ? `.human-${step}` : ""}`;
}

/** The client's copy of the ledger: beads by id, as a tree, and the version they reflect. */
export class BeadsModel {
  private nodes = new Map<string, BeadNode>();
  private rootList: BeadNode[] = [];
  /** Parent id -> ids of beads that name it as parent but hang elsewhere (parent unknown, or a cycle). */
  private waiting = new Map<string, Set<string>>();
  private known: number | undefined;
  /** What the last reset/apply touched. */
  lastChange: TreeChange = { all: true };

  get version(): number | undefined {
    return this.known;
  }

  get size(): number {
    return this.nodes.size;
  }

  get(id: string): BeadSummary | undefined {
    return this.nodes.get(id)?.bead;
  }

  node(id: string): BeadNode | undefined {
    return this.nodes.get(id);
  }

  all(): BeadSummary[] {
    return [...this.nodes.values()].map((n) => n.bead).sort(compareBeads);
  }

  values(): IterableIterator<BeadNode> {
    return this.nodes.values();
  }

  /** The roots, sorted; each node's children sorted. */
  tree(): BeadNode[] {
    return this.rootList;
  }

  /** Replace everything with a full `gastown/beads` answer (nodes of beads still there are kept). */
  reset(result: BeadList): void {
    const old = this.nodes;
    this.nodes = new Map();
    this.rootList = [];
    this.waiting = new Map();
    for (const bead of result.beads) {
      const node = old.get(bead.id) ?? { bead, children: [], key: naturalKey(bead.id) };
      node.bead = bead;
      node.children = [];
      node.parent = undefined;
      this.nodes.set(bead.id, node);
    }
    for (const node of this.nodes.values()) this.attach(node, undefined);
    this.rootList.sort(byBead);
    for (const node of this.nodes.values()) if (node.children.length > 1) node.children.sort(byBead);
    this.known = result.version;
    this.lastChange = { all: true };
  }

  /** Apply a delta only if it is the next version; say whether it was applied, old, or a gap. */
  apply(delta: BeadsChanged): DeltaOutcome {
    if (this.known === undefined) return "gap";
    if (delta.version <= this.known) return "stale";
    if (delta.version !== this.known + 1) return "gap";
    const touched = new Set<BeadNode>();
    const resort = new Set<BeadNode | null>(); // null = the root list
    for (const id of delta.removed ?? []) this.remove(id, touched, resort);
    for (const bead of delta.changed ?? []) this.upsert(bead, touched, resort);
    for (const container of resort) {
      if (container === null) this.rootList.sort(byBead);
      else container.children.sort(byBead);
    }
    this.known = delta.version;
    this.lastChange = resort.has(null) ? { all: true } : { all: false, nodes: [...touched] };
    return "applied";
  }

  private upsert(bead: BeadSummary, touched: Set<BeadNode>, resort: Set<BeadNode | null>): void {
    const node = this.nodes.get(bead.id);
    if (!node) {
      const fresh: BeadNode = { bead, children: [], key: naturalKey(bead.id) };
      this.nodes.set(bead.id, fresh);
      this.attach(fresh, resort);
      touched.add(fresh);
      if (fresh.parent) touched.add(fresh.parent);
      this.adopt(fresh, touched, resort);
      return;
    }
    const old = node.bead;
    node.bead = bead;
    touched.add(node);
    if ((old.parent ?? undefined) !== (bead.parent ?? undefined)) {
      this.detach(node, resort, touched);
      this.unwait(old.parent, bead.id);
      this.attach(node, resort);
      if (node.parent) touched.add(node.parent);
    } else if (old.priority !== bead.priority) {
      resort.add(node.parent ?? null);
      if (node.parent) touched.add(node.parent);
    }
  }

  private remove(id: string, touched: Set<BeadNode>, resort: Set<BeadNode | null>): void {
    const node = this.nodes.get(id);
    if (!node) return;
    this.detach(node, resort, touched);
    this.unwait(node.bead.parent, id);
    this.nodes.delete(id);
    touched.delete(node);
    // Its children become roots until it comes back.
    for (const child of node.children) {
      child.parent = undefined;
      this.rootList.push(child);
      this.wait(id, child.bead.id);
    }
    if (node.children.length) resort.add(null);
    node.children = [];
  }

  /** Hang a node under its parent if that is known and no cycle results; else make it a root. */
  private attach(node: BeadNode, resort: Set<BeadNode | null> | undefined): void {
    const parentId = node.bead.parent;
    const parent = parentId && parentId !== node.bead.id ? this.nodes.get(parentId) : undefined;
    if (parent && !this.isAncestor(node, parent)) {
      node.parent = parent;
      parent.children.push(node);
      resort?.add(parent);
      return;
    }
    node.parent = undefined;
    this.rootList.push(node);
    resort?.add(null);
    if (parentId) this.wait(parentId, node.bead.id);
  }

  private detach(node: BeadNode, resort: Set<BeadNode | null>, touched: Set<BeadNode>): void {
    const list = node.parent ? node.parent.children : this.rootList;
    const at = list.indexOf(node);
    if (at >= 0) list.splice(at, 1);
    if (node.parent) touched.add(node.parent);
    else resort.add(null);
    node.parent = undefined;
  }

  /** Beads that named `node` as their parent while it was unknown now hang under it. */
  private adopt(node: BeadNode, touched: Set<BeadNode>, resort: Set<BeadNode | null>): void {
    const ids = this.waiting.get(node.bead.id);
    if (!ids) return;
    this.waiting.delete(node.bead.id);
    for (const id of ids) {
      const child = this.nodes.get(id);
      if (!child || child.parent || child.bead.parent !== node.bead.id) continue;
      this.detach(child, resort, touched);
      this.attach(child, resort);
      touched.add(node);
    }
  }

  /** True if `ancestor` is `of` or one of its ancestors (a parent cycle would lose beads). */
  private isAncestor(ancestor: BeadNode, of: BeadNode): boolean {
    for (let cur: BeadNode | undefined = of; cur; cur = cur.parent) if (cur === ancestor) return true;
    return false;
  }

  private wait(parentId: string, id: string): void {
    let set = this.waiting.get(parentId);
    if (!set) this.waiting.set(parentId, (set = new Set()));
    set.add(id);
  }

  private unwait(parentId: string | null | undefined, id: string): void {
    if (!parentId) return;
    const set = this.waiting.get(parentId);
    if (set?.delete(id) && set.size === 0) this.waiting.delete(parentId);
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
    private readonly fetchAll: () => Promise<BeadList>,
    private readonly onChange: (change: TreeChange) => void = () => {},
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
      this.onChange(this.model.lastChange);
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
      this.onChange({ all: true });
      if (!gap) return;
    }
  }
}

// --- filters -------------------------------------------------------------------------------------------

export type BeadFilter = "all" | "open" | "ready";
export const FILTERS: readonly BeadFilter[] = ["ready", "open", "all"];

const DONE = new Set(["closed", "tombstone"]);

/** Whether a bead itself passes a filter (`ready` is the server's answer to gastown/beads {filter: ready}). */
export function matchesFilter(bead: BeadSummary, filter: BeadFilter, ready: ReadonlySet<string>): boolean {
  if (filter === "ready") return ready.has(bead.id);
  if (filter === "open") return !DONE.has(bead.status);
  return bead.status !== "tombstone";
}

/**
 * What the view shows under a filter: the beads that pass it, plus their ancestors (so tasks stay under
 * their epic). For `all` nothing is computed ahead: rows are checked as they are listed.
 */
export class FilteredTree {
  filter: BeadFilter = "all";
  ready: ReadonlySet<string> = new Set();
  private visible: Set<BeadNode> | undefined;

  constructor(readonly model: BeadsModel) {}

  /** Recompute the visible set (after a change of data or filter). Cheap for `all`. */
  update(): void {
    if (this.filter === "all") {
      this.visible = undefined;
      return;
    }
    const visible = new Set<BeadNode>();
    for (const node of this.model.values()) {
      if (!matchesFilter(node.bead, this.filter, this.ready)) continue;
      for (let cur: BeadNode | undefined = node; cur && !visible.has(cur); cur = cur.parent) visible.add(cur);
    }
    this.visible = visible;
  }

  private shows(node: BeadNode): boolean {
    if (this.visible) return this.visible.has(node);
    return node.bead.status !== "tombstone" || node.children.length > 0;
  }

  children(node?: BeadNode): BeadNode[] {
    const list = node ? node.children : this.model.tree();
    let hidden = false;
    for (const n of list) {
      if (!this.shows(n)) {
        hidden = true;
        break;
      }
    }
    return hidden ? list.filter((n) => this.shows(n)) : list;
  }

  hasChildren(node: BeadNode): boolean {
    if (node.children.length === 0) return false;
    for (const n of node.children) if (this.shows(n)) return true;
    return false;
  }

  /** Number of beads the filter itself matches (ancestors shown for context not counted). */
  count(): number {
    let n = 0;
    for (const node of this.model.values()) if (matchesFilter(node.bead, this.filter, this.ready)) n++;
    return n;
  }
}

/** Beads waiting for the Overseer's review (the status bar's "to review"). */
export function countReview(model: BeadsModel): number {
  let n = 0;
  for (const node of model.values()) if (node.bead.status === "review") n++;
  return n;
}

/** Human steps that need the Overseer now (the status bar's "need you" counts them with the agents). */
export function countHumanSteps(model: BeadsModel): number {
  let n = 0;
  for (const node of model.values()) if (humanStep(node.bead) === "ready") n++;
  return n;
}

/** The Beads view's description (the filter, unless all) and its message when a filter hides everything. */
export function viewCaption(filter: BeadFilter, empty: boolean): { description?: string; message?: string } {
  if (filter === "all") return {};
  return {
    description: filter,
    message: empty ? `No ${filter} beads. (Filter: ${filter}; "Show All Beads" lists every bead.)` : undefined,
  };
}
