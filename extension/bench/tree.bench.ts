// The Beads tree with 10,000 beads, timed the way VS Code drives it (figures, not a test):
//   tree_render_10k_ms  a fresh provider gets the full list (gastown/beads: rows, decoded into summaries)
//                       and the view renders it:
//                       getChildren(root), getTreeItem for every root, getChildren + getTreeItem for every
//                       expanded epic (epics open expanded, so that is all 10,000 rows)
//   delta100_ms         one gastown/beadsChanged with 100 changes (90 updates, 5 new tasks, 5 removals)
//                       applied, plus the repaint VS Code then asks for (getTreeItem of each row fired,
//                       getChildren of each parent fired)
//   answer_parse_10k_ms the client's JSON.parse of that answer as it arrives (rows), next to
//                       answer_parse_10k_objects_ms, the same beads in the former shape (an object per bead
//                       with its labels, acceptance criteria and updated_at), and both sizes in KiB
// Each figure comes with a floor measured in the same run (a bare loop making as many plain objects as
// the view gets rows: 10,000 for the render; the changes plus the rows repainted for a delta) and the
// ratio to it. Bundled with `vscode` aliased to the test stub and run by
// extension/bench/run.mjs (`npm run bench`). Prints JSON lines {"metric", "value", "unit"}.
import { performance } from "node:perf_hooks";
import type { BeadsChanged, BeadsResult, BeadSummary } from "../src/protocol";
import { BeadsTreeProvider } from "../src/views/beads";
import { type BeadNode, decodeBeads } from "../src/views/beadsModel";

const EPICS = 200;
const TASKS_PER_EPIC = 49; // 200 + 200 * 49 = 10,000 beads
const STATUSES = ["open", "in_progress", "review", "closed", "closed", "closed", "blocked"];

let seed = 42;
function rand(n: number): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
}

function task(e: number, t: number, extra: Partial<BeadSummary> = {}): BeadSummary {
  return {
    id: `gt-t${e}.${t}`,
    title: `Task ${t} of epic ${e}: make the thing do the other thing`,
    status: STATUSES[rand(STATUSES.length)],
    priority: rand(5),
    issue_type: "task",
    parent: `gt-e${e}`,
    assignee: rand(3) === 0 ? `polecat-gt-${e}-${t}` : null,
    ...extra,
  };
}

/** The ledger as gastown/beads answers it (rows), and as summaries (for the floor). */
function ledger(): { result: BeadsResult; beads: BeadSummary[] } {
  const beads: BeadSummary[] = [];
  for (let e = 0; e < EPICS; e++) {
    beads.push({
      id: `gt-e${e}`,
      title: `Epic ${e}: a goal the Overseer submitted`,
      status: "open",
      priority: rand(5),
      issue_type: "epic",
      parent: null,
      assignee: null,
    });
    for (let t = 0; t < TASKS_PER_EPIC; t++) beads.push(task(e, t));
  }
  const rows = beads.map(
    (b) => [b.id, b.title, b.status, b.priority, b.issue_type, b.parent ?? null, b.assignee ?? null, b.human ?? 0] as const,
  );
  return { result: { version: 1, rows: rows.map((r) => [...r]) as BeadsResult["rows"] }, beads };
}

/** What the view asks for on its first render: every row of the root and of each expanded node. */
function render(provider: BeadsTreeProvider, parent?: BeadNode): number {
  let rows = 0;
  for (const node of provider.getChildren(parent)) {
    const item = provider.getTreeItem(node);
    rows++;
    if (item.collapsibleState === 2 /* Expanded */) rows += render(provider, node);
  }
  return rows;
}

/** The plain-object floor: as many objects as rows, with the same kinds of fields and string building. */
function floor(beads: readonly BeadSummary[]): number {
  const out: Array<Record<string, unknown>> = [];
  for (const b of beads) {
    out.push({ label: b.title, id: b.id, description: `P${b.priority} · ${b.status}`, state: 0, icon: b.status });
  }
  return out.length;
}

/** `n` bead summaries to feed the floor (made outside the timed part). */
function repaintedBeads(provider: BeadsTreeProvider, n: number): BeadSummary[] {
  const all = provider.model.all();
  return Array.from({ length: n }, (_, i) => all[i % all.length]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function emit(metric: string, value: number, unit: string): void {
  console.log(JSON.stringify({ metric, value: Math.round(value * 1000) / 1000, unit }));
}

async function firstRender(data: BeadsResult): Promise<{ ms: number; provider: BeadsTreeProvider; rows: number }> {
  const provider = new BeadsTreeProvider();
  const t0 = performance.now();
  await provider.connect(async () => decodeBeads(data)); // the answer's rows become summaries: timed too
  const rows = render(provider);
  const ms = performance.now() - t0;
  return { ms, provider, rows };
}

function makeDelta(provider: BeadsTreeProvider, version: number, fresh: { n: number }): BeadsChanged {
  const all = provider.model.all().filter((b) => b.issue_type === "task");
  const changed: BeadSummary[] = [];
  const removed: string[] = [];
  const used = new Set<string>();
  while (changed.length < 90) {
    const b = all[rand(all.length)];
    if (used.has(b.id)) continue;
    used.add(b.id);
    changed.push({ ...b, status: STATUSES[rand(STATUSES.length)], priority: rand(5), assignee: `polecat-${b.id}` });
  }
  for (let i = 0; i < 5; i++) {
    const e = rand(EPICS);
    changed.push(task(e, 100 + fresh.n++, { id: `gt-new${fresh.n}` }));
  }
  while (removed.length < 5) {
    const b = all[rand(all.length)];
    if (used.has(b.id)) continue;
    used.add(b.id);
    removed.push(b.id);
  }
  return { version, changed, removed };
}

async function main(): Promise<void> {
  const { result: data, beads: summaries } = ledger();
  const beads = summaries.length;

  // First renders: each on a fresh provider. The very first includes the JIT warming up.
  const cold = await firstRender(data);
  const renders: number[] = [];
  const floors: number[] = [];
  let last = cold;
  for (let i = 0; i < 15; i++) {
    last = await firstRender(data);
    renders.push(last.ms);
    const f0 = performance.now();
    floor(summaries);
    floors.push(performance.now() - f0);
  }
  if (last.rows !== beads) throw new Error(`rendered ${last.rows} rows, expected ${beads}`);

  // Deltas of 100 changes on the rendered tree, each followed by the repaint VS Code asks for.
  const provider = last.provider;
  let fired: Array<BeadNode | BeadNode[] | undefined | void> = [];
  provider.onDidChangeTreeData((e) => fired.push(e));
  const fresh = { n: 0 };
  const deltas: number[] = [];
  const deltaFloors: number[] = [];
  let repainted = 0;
  let full = 0;
  for (let v = 2; v < 62; v++) {
    const delta = makeDelta(provider, v, fresh);
    fired = [];
    const before = repainted;
    const t0 = performance.now();
    await provider.onDelta(delta);
    for (const e of fired) {
      if (e === undefined) {
        repainted += render(provider);
        full++;
        continue;
      }
      for (const node of Array.isArray(e) ? e : [e]) {
        provider.getTreeItem(node);
        repainted++;
        for (const child of provider.getChildren(node)) {
          provider.getTreeItem(child);
          repainted++;
        }
      }
    }
    const ms = performance.now() - t0;
    if (v > 11) deltas.push(ms); // the first ten warm up
    // The floor: as many plain objects as the delta had changes plus rows repainted.
    const rows = (delta.changed ?? []).concat(repaintedBeads(provider, repainted - before));
    const f0 = performance.now();
    floor(rows);
    if (v > 11) deltaFloors.push(performance.now() - f0);
  }
  if (provider.version !== 61) throw new Error(`version ${provider.version}, expected 61`);

  // The answer as it arrives: text. Rows, and the former shape of the same beads for comparison.
  const wire = JSON.stringify(data);
  const objects = JSON.stringify({
    version: 1,
    beads: summaries.map((b, i) => ({
      ...b,
      acceptance_criteria: b.issue_type === "epic" ? null : `- it works\n- tests for case ${i}\n- docs updated`,
      labels: i % 4 === 0 ? ["backend"] : [],
      updated_at: "2026-01-01T00:00:00Z",
    })),
  });
  const parse = (text: string) => {
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      JSON.parse(text);
      times.push(performance.now() - t0);
    }
    return median(times);
  };
  const parseRows = parse(wire);
  const parseObjects = parse(objects);

  const render10k = median(renders);
  const floor10k = median(floors);
  const delta100 = median(deltas);
  const floor100 = median(deltaFloors);
  emit("beads", beads, "count");
  emit("tree_render_10k_ms", render10k, "ms");
  emit("tree_render_10k_cold_ms", cold.ms, "ms");
  emit("tree_render_10k_floor_ms", floor10k, "ms");
  emit("tree_render_10k_ratio", render10k / floor10k, "x");
  emit("delta100_ms", delta100, "ms");
  emit("delta100_floor_ms", floor100, "ms");
  emit("delta100_ratio", delta100 / floor100, "x");
  emit("delta100_rows_repainted", repainted / 60, "rows");
  emit("delta100_full_repaints", full, "count");
  emit("answer_parse_10k_ms", parseRows, "ms");
  emit("answer_parse_10k_objects_ms", parseObjects, "ms");
  emit("answer_kb", Buffer.byteLength(wire) / 1024, "KiB");
  emit("answer_objects_kb", Buffer.byteLength(objects) / 1024, "KiB");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
