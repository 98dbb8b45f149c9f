/* eslint-disable */
// GENERATED FILE - DO NOT EDIT.
// Made by `npm run gen:types` (extension/scripts/gen-types.mjs) from schemas/*.schema.json, which
// `gastown schemas` generates from the server's pydantic models (server/gastown/lsp/protocol.py).
// `npm run check:types` fails when this file is out of date.

/**
 * Every generated model, by schema name.
 */
export interface GastownProtocol {
  AbortAgentParams: AbortAgentParams;
  ActionResult: ActionResult;
  AgentEventNote: AgentEventNote;
  AgentInfo: AgentInfo;
  AgentStatus: AgentStatus;
  AgentsResult: AgentsResult;
  AnswerParams: AnswerParams;
  Bead: Bead;
  BeadEvent: BeadEvent;
  BeadParams: BeadParams;
  BeadResult: BeadResult;
  BeadSummary: BeadSummary;
  BeadsChanged: BeadsChanged;
  BeadsParams: BeadsParams;
  BeadsResult: BeadsResult;
  Comment: Comment;
  ConvoyProgress: ConvoyProgress;
  ConvoysResult: ConvoysResult;
  CostsParams: CostsParams;
  CostsResult: CostsResult;
  CreateBeadArgs: CreateBeadArgs;
  Dependency: Dependency;
  DiffParams: DiffParams;
  DiffResult: DiffResult;
  DocumentParams: DocumentParams;
  DocumentResult: DocumentResult;
  FormulasResult: FormulasResult;
  GitHubTokenParams: GitHubTokenParams;
  InitializationOptions: InitializationOptions;
  NudgeParams: NudgeParams;
  PlanDecisionParams: PlanDecisionParams;
  PlanDecisionResult: PlanDecisionResult;
  PullRequestStatus: PullRequestStatus;
  PullRequestsParams: PullRequestsParams;
  PullRequestsResult: PullRequestsResult;
  RetryParams: RetryParams;
  ReviewParams: ReviewParams;
  ReviewResult: ReviewResult;
  RunFormulaParams: RunFormulaParams;
  RunFormulaResult: RunFormulaResult;
  SubmitGoalParams: SubmitGoalParams;
  SubmitGoalResult: SubmitGoalResult;
  UpdateBeadParams: UpdateBeadParams;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "AbortAgentParams".
 */
export interface AbortAgentParams {
  /**
   * Agent id, e.g. polecat-gt-a1b2
   */
  id: string;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "ActionResult".
 */
export interface ActionResult {
  bead_id: string;
  /**
   * What happened, for the Overseer
   */
  message: string;
}
/**
 * One runtime event of an agent, streamed for the log view.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "AgentEventNote".
 */
export interface AgentEventNote {
  agent: string;
  approved?: boolean | null;
  at: string;
  bead_id?: string | null;
  kind: string;
  text?: string | null;
  tool?: string | null;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "AgentInfo".
 */
export interface AgentInfo {
  bead_id?: string | null;
  branch?: string | null;
  current_tool?: string | null;
  /**
   * Last message, error or exit reason
   */
  detail?: string | null;
  /**
   * How the last run ended (done, escalated, ...)
   */
  exit_reason?: string | null;
  /**
   * The runtime host the polecat runs on; none = this machine
   */
  host?: string | null;
  /**
   * Agent name, e.g. 'polecat-gt-a1b2' or 'mayor'
   */
  id: string;
  /**
   * Heartbeat: time of the last agent event
   */
  last_event_at?: string | null;
  /**
   * What the polecat asks the Overseer (state needs-input); answer it to let it go on
   */
  question?: string | null;
  /**
   * Witness restarts in the current run
   */
  restarts?: number;
  role: "mayor" | "polecat" | "refinery" | "witness";
  /**
   * The polecat's current or last run record
   */
  run_id?: number | null;
  started_at?: string;
  state:
    "starting" | "working" | "needs-input" | "stalled" | "done" | "failed" | "merging" | "idle" | "review";
  tokens?: number;
  updated_at?: string;
  worktree?: string | null;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "AgentStatus".
 */
export interface AgentStatus {
  agents: AgentInfo[];
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "AgentsResult".
 */
export interface AgentsResult {
  agents: AgentInfo[];
}
/**
 * The Overseer's answer to the polecat working a bead that asked a question (state needs-input).
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "AnswerParams".
 */
export interface AnswerParams {
  beadId: string;
  text: string;
}
/**
 * One unit of work. Optional fields default to None/empty and are left out of the JSONL when unset.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "Bead".
 */
export interface Bead {
  acceptance_criteria?: string | null;
  assignee?: string | null;
  close_reason?: string | null;
  closed_at?: string | null;
  comments?: Comment[] | null;
  created_at?: string;
  created_by?: string | null;
  dependencies?: Dependency[] | null;
  description?: string | null;
  design?: string | null;
  external_ref?: string | null;
  id: string;
  issue_type?: string;
  labels?: string[] | null;
  metadata?: {
    [k: string]: unknown | undefined;
  } | null;
  notes?: string | null;
  owner?: string | null;
  priority?: number;
  status?: string;
  title: string;
  updated_at?: string;
  [k: string]: unknown | undefined;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "Comment".
 */
export interface Comment {
  author?: string;
  created_at?: string;
  id?: number | string | null;
  issue_id?: string;
  text: string;
  [k: string]: unknown | undefined;
}
/**
 * ``issue_id`` depends on ``depends_on_id``.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "Dependency".
 */
export interface Dependency {
  created_at?: string;
  created_by?: string;
  depends_on_id: string;
  issue_id: string;
  type?: string;
  [k: string]: unknown | undefined;
}
/**
 * An audit event: every change to a bead leaves one.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "BeadEvent".
 */
export interface BeadEvent {
  actor?: string;
  comment?: string | null;
  created_at?: string;
  event_type: string;
  id?: number | null;
  issue_id: string;
  new_value?: string | null;
  old_value?: string | null;
  [k: string]: unknown | undefined;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "BeadParams".
 */
export interface BeadParams {
  id: string;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "BeadResult".
 */
export interface BeadResult {
  bead: Bead;
}
/**
 * What a tree row needs: its label, icon and description. Its tooltip's details (labels, acceptance
 * criteria) come from gastown/bead when the row is hovered.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "BeadSummary".
 */
export interface BeadSummary {
  assignee?: string | null;
  /**
   * 0: not a human step; 1: a human step (only the Overseer closes it) still waiting on what blocks it, or closed; 2: a human step ready now, the Overseer's to do and close ('needs you')
   */
  human?: 0 | 1 | 2;
  id: string;
  issue_type: string;
  parent?: string | null;
  priority: number;
  status: string;
  title: string;
}
/**
 * A versioned delta. A client whose version is not ``version - 1`` missed one and must re-fetch.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "BeadsChanged".
 */
export interface BeadsChanged {
  changed?: BeadSummary[];
  removed?: string[];
  version: number;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "BeadsParams".
 */
export interface BeadsParams {
  filter?: "all" | "open" | "ready";
  parent?: string | null;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "BeadsResult".
 */
export interface BeadsResult {
  /**
   * One BeadRow per bead (a BeadSummary's fields in BEAD_ROW order)
   */
  rows: [string, string, string, number, string, string | null, string | null, 0 | 1 | 2][];
  /**
   * Ledger version this list reflects; deltas continue from it
   */
  version: number;
}
/**
 * A convoy and how far its beads got: merged into the integration branch, landed on the Overseer's.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "ConvoyProgress".
 */
export interface ConvoyProgress {
  id: string;
  landed: number;
  landed_at?: string | null;
  landed_on?: string | null;
  members: ConvoyMember[];
  merged: number;
  merged_at?: string | null;
  name: string;
  status: string;
  total: number;
  /**
   * The bead ids the convoy tracks (epics stand for their beads)
   */
  tracked: string[];
}
/**
 * One bead a convoy counts (a tracked bead, or a leaf of a tracked epic).
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "ConvoyMember".
 */
export interface ConvoyMember {
  id: string;
  landed: boolean;
  merged: boolean;
  status: string;
  title: string;
}
/**
 * Every convoy with its progress (the Beads view's Convoys node).
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "ConvoysResult".
 */
export interface ConvoysResult {
  convoys: ConvoyProgress[];
}
/**
 * Nothing: the whole town; ``goal`` (an epic id) or ``bead``: that one's runs.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "CostsParams".
 */
export interface CostsParams {
  bead?: string | null;
  goal?: string | null;
}
/**
 * Tokens and seconds: in total, by role, by goal (its epic) and by bead; ``scope`` says what was asked.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "CostsResult".
 */
export interface CostsResult {
  beads?: CostGroup[];
  by_role?: {
    [k: string]: CostLine | undefined;
  };
  goals?: CostGroup[];
  /**
   * all | goal:<epic id> | bead:<bead id>
   */
  scope: string;
  total?: CostLine;
}
/**
 * One goal's or one bead's costs, in total and by role.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "CostGroup".
 */
export interface CostGroup {
  by_role?: {
    [k: string]: CostLine | undefined;
  };
  id: string;
  title?: string | null;
  total?: CostLine;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "CostLine".
 */
export interface CostLine {
  runs?: number;
  seconds?: number;
  tokens?: number;
}
/**
 * Arguments of the `gastown.createBead` command (a TODO code lens, or the palette).
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "CreateBeadArgs".
 */
export interface CreateBeadArgs {
  line?: number;
  priority?: number;
  title: string;
  type?: string;
  uri?: string | null;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "DiffParams".
 */
export interface DiffParams {
  beadId: string;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "DiffResult".
 */
export interface DiffResult {
  /**
   * The commit the branch is compared against
   */
  base: string;
  bead_id: string;
  branch: string;
  files: FileDiff[];
  head: string;
  /**
   * Whether the branch is already on the integration branch
   */
  merged: boolean;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "FileDiff".
 */
export interface FileDiff {
  binary?: boolean;
  /**
   * The diff --git … +++ lines, for patches
   */
  header?: string[];
  hunks?: Hunk[];
  old_path?: string | null;
  path: string;
  status: "added" | "deleted" | "modified" | "renamed";
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "Hunk".
 */
export interface Hunk {
  header: string;
  /**
   * Stable id: hash of the file path and the hunk's text
   */
  id: string;
  /**
   * The hunk body, each line with its ' ', '-' or '+' prefix
   */
  lines: string[];
  new_lines: number;
  new_start: number;
  old_lines: number;
  old_start: number;
}
/**
 * One side of a diff, served read-only to the editor's diff view.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "DocumentParams".
 */
export interface DocumentParams {
  beadId: string;
  path: string;
  side: "base" | "head";
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "DocumentResult".
 */
export interface DocumentResult {
  exists: boolean;
  text: string;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "FormulasResult".
 */
export interface FormulasResult {
  formulas: FormulaInfo[];
  /**
   * Formula files that do not load
   */
  problems?: FormulaProblem[];
}
/**
 * A formula the town can pour: where it comes from, its variables and its steps.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "FormulaInfo".
 */
export interface FormulaInfo {
  description?: string;
  name: string;
  origin: "builtin" | "user" | "project";
  path: string;
  /**
   * Origins of same-named files it replaces
   */
  shadows?: string[];
  steps?: FormulaStep[];
  vars?: FormulaVar[];
  version?: number;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "FormulaStep".
 */
export interface FormulaStep {
  acceptance_criteria?: string;
  condition?: string;
  /**
   * Only the Overseer closes it; never given to a polecat
   */
  human?: boolean;
  id: string;
  needs?: string[];
  /**
   * As written, {{variables}} not substituted
   */
  title: string;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "FormulaVar".
 */
export interface FormulaVar {
  default?: string | null;
  description?: string;
  /**
   * The allowed values (empty: any)
   */
  enum?: string[];
  name: string;
  /**
   * A regular expression the value must match
   */
  pattern?: string | null;
  required?: boolean;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "FormulaProblem".
 */
export interface FormulaProblem {
  /**
   * What is wrong with the file, with its lines and fields
   */
  message: string;
  name: string;
}
/**
 * The editor's GitHub token (VS Code's authentication or SecretStorage), kept in the server's memory only.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "GitHubTokenParams".
 */
export interface GitHubTokenParams {
  token?: string | null;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "InitializationOptions".
 */
export interface InitializationOptions {
  /**
   * Land the integration branch on the current branch when a goal succeeds
   */
  autoLand?: boolean;
  /**
   * Merge verified branches at once; off = wait for the Overseer's accept
   */
  autoMerge?: boolean;
  cliPath?: string | null;
  /**
   * A bead whose files overlap a running polecat's: hold it while that polecat works, serialize it after that bead merges, or start it anyway (off)
   */
  conflictRadar?: "hold" | "serialize" | "off";
  /**
   * Beads a polecat files with bead_create: hold them (deferred, listed for the Overseer to dispatch) or dispatch them within the same goal
   */
  discoveredWork?: "hold" | "dispatch";
  github?: GitHubSettings;
  hosts?: HostsSettings;
  integrationBranch?: string;
  /**
   * Most tasks one plan may have
   */
  maxPlanSize?: number;
  maxPolecats?: number;
  /**
   * Branches merged and verified together (bisected on failure)
   */
  mergeBatchSize?: number;
  /**
   * How long a batch may wait for running polecats to finish
   */
  mergeBatchWindow?: number;
  /**
   * Write plans as draft beads; dispatch only when the Overseer approves
   */
  planApproval?: boolean;
  /**
   * Invalid plans sent back to the Mayor before the goal fails
   */
  planAttempts?: number;
  polecats?: PolecatSettings;
  provider?: ProviderSettings;
  /**
   * A reviewer session scores each diff against the acceptance criteria
   */
  reviewAgent?: boolean;
  /**
   * Times a bead goes back to its polecat before it is blocked
   */
  reworkAttempts?: number;
  /**
   * Play this scenario file on a local scripted model server (offline)
   */
  scenario?: string | null;
  telemetry?: TelemetrySettings;
  turnTimeout?: number;
  /**
   * Run by the Refinery before a merge; empty = pytest/unittest/make test
   */
  verifyCommand?: string;
  verifyTimeout?: number;
  /**
   * Where polecat worktrees go (outside the workspace)
   */
  worktreeRoot?: string | null;
}
/**
 * Landing through pull requests
 */
export interface GitHubSettings {
  /**
   * The REST API's base URL; empty = https://api.github.com, or https://HOST/api/v3 for a GitHub Enterprise remote
   */
  apiUrl?: string;
  /**
   * Merge the pull request when its checks pass (with a merge method the repository allows)
   */
  autoLand?: boolean;
  /**
   * The branch pull requests target; empty = the repository's default
   */
  base?: string;
  /**
   * Checks still pending after this long: the pull request is marked 'checks pending too long' and the Overseer is told
   */
  checksTimeout?: number;
  /**
   * Ask for a Copilot review on new pull requests (where the host allows it)
   */
  copilotReview?: boolean;
  /**
   * Open pull requests as drafts
   */
  draft?: boolean;
  /**
   * local (merge into your branch), pr (one pull request per goal) or pr-per-bead (one per bead, stacked on its dependencies' pull requests)
   */
  landing?: "local" | "pr" | "pr-per-bead";
  /**
   * The longest Retry-After (rate limit) waited for before a request fails with a clear error
   */
  maxRetryAfter?: number;
  /**
   * Seconds between looks at a pull request's checks and review comments
   */
  pollSeconds?: number;
  /**
   * The git remote pull request branches are pushed to
   */
  remote?: string;
  /**
   * owner/name on the host; empty = read from the remote's URL
   */
  repository?: string;
  /**
   * Reviewers requested on every pull request
   */
  reviewers?: string[];
}
/**
 * Runtime hosts for polecats
 */
export interface HostsSettings {
  /**
   * Polecats run on this machine at once when hosts are set (default: maxPolecats)
   */
  localSlots?: number | null;
  /**
   * The hosts polecats may be placed on
   */
  pool?: HostEntry[];
  /**
   * How often each host's health is asked
   */
  probeSeconds?: number;
  /**
   * The git remote (name or URL) the hosts clone: the town pushes the integration branch there and fetches polecat branches from it
   */
  remote?: string;
  /**
   * A host silent this long is lost: its polecats are requeued
   */
  timeoutSeconds?: number;
}
/**
 * One `gastown host` the town may place polecats on.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "HostEntry".
 */
export interface HostEntry {
  /**
   * host:port of the host's JSON-RPC port (off loopback: through TLS or a tunnel)
   */
  address: string;
  /**
   * Shown in the Agents view (default: the host's own name)
   */
  name?: string | null;
  /**
   * Polecats placed on this host at once
   */
  slots?: number;
  /**
   * Environment variable holding the host's token
   */
  tokenEnv?: string | null;
  /**
   * File holding the host's token (e.g. a mounted Secret)
   */
  tokenFile?: string | null;
}
/**
 * Permission policy, Witness, budgets, worktree pool
 */
export interface PolecatSettings {
  /**
   * If set, a shell command must match one of these regexes
   */
  allowCommands?: string[];
  /**
   * Let polecats fetch URLs
   */
  allowUrls?: boolean;
  budget?: BudgetSettings;
  /**
   * Extra regexes a shell command must not match (added to the built-in denials: git push, branch switching, sudo, installs, network tools)
   */
  denyCommands?: string[];
  /**
   * Idle worktrees `gastown gc` keeps for reuse
   */
  keepIdleWorktrees?: number;
  /**
   * Restarts of a stuck polecat before the bead is escalated
   */
  maxRestarts?: number;
  /**
   * Seconds a polecat waits for the Overseer's answer before its bead is escalated (waiting is not a stall)
   */
  needsInputTimeout?: number;
  nudge?: string;
  /**
   * Folders polecats may read besides their worktree and the workspace
   */
  readablePaths?: string[];
  /**
   * Confine polecats' shell commands with bubblewrap: auto (where bwrap works, else a warning), required (refuse to start polecats without it) or off
   */
  sandbox?: "auto" | "required" | "off";
  /**
   * No agent event for this long: the Witness nudges, then restarts
   */
  stallSeconds?: number;
  /**
   * The same while a tool (e.g. a test run) is executing
   */
  toolStallSeconds?: number;
}
/**
 * Caps; 0 = no cap. At a bead cap its polecat is stopped and the bead blocked; at a goal cap dispatch
 * of that goal pauses and the Overseer is told.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "BudgetSettings".
 */
export interface BudgetSettings {
  secondsPerBead?: number;
  secondsPerGoal?: number;
  tokensPerBead?: number;
  tokensPerGoal?: number;
}
/**
 * Copilot login by default; BYOK (OpenAI-compatible, Azure AI Foundry, Anthropic, Ollama) when typed.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "ProviderSettings".
 */
export interface ProviderSettings {
  apiKey?: string | null;
  apiKeyEnv?: string;
  azureApiVersion?: string | null;
  baseUrl?: string | null;
  model?: string;
  type?: "copilot" | "openai" | "azure" | "anthropic";
}
/**
 * OpenTelemetry traces
 */
export interface TelemetrySettings {
  /**
   * Also export the Copilot CLI's own spans, joined to the goal's trace
   */
  copilotCli?: boolean;
  /**
   * OTLP/HTTP base URL (e.g. Jaeger or a collector); /v1/traces is added
   */
  endpoint?: string;
  /**
   * none (off), otlp (OTLP/HTTP to the endpoint) or file (JSON lines)
   */
  exporter?: "none" | "otlp" | "file";
  /**
   * The JSON-lines file of exporter=file (default .gastown/telemetry/spans.jsonl); the Copilot CLI writes <name>.copilot.jsonl beside it
   */
  filePath?: string | null;
  /**
   * OTLP headers as key=value pairs separated by commas (e.g. Authorization=Bearer …); a secret: never in gastown.toml
   */
  headers?: string | null;
  /**
   * service.name of the spans
   */
  serviceName?: string;
}
/**
 * A message to the polecat working a bead, read at its next turn.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "NudgeParams".
 */
export interface NudgeParams {
  beadId: string;
  text: string;
}
/**
 * With plan approval on, the Overseer approves a drafted plan (as edited) or discards it.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "PlanDecisionParams".
 */
export interface PlanDecisionParams {
  decision: "approve" | "discard";
  epicId: string;
  reason?: string | null;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "PlanDecisionResult".
 */
export interface PlanDecisionResult {
  /**
   * The beads now open for dispatch
   */
  bead_ids?: string[];
  epic_id: string;
}
/**
 * One pull request as the editor and `gastown pr status` show it (also kept in the epic's metadata).
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "PullRequestStatus".
 */
export interface PullRequestStatus {
  base?: string;
  bead_id?: string | null;
  checks?: "pending" | "success" | "failure" | "none" | "timeout";
  checks_line?: string;
  detail?: string;
  epic_id: string;
  head?: string;
  number: number;
  reported_sha?: string;
  seen_comments?: number[];
  sha?: string;
  state?: "open" | "closed" | "merged";
  updated_at?: string;
  url: string;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "PullRequestsParams".
 */
export interface PullRequestsParams {
  /**
   * Ask the code host now (else: as last recorded)
   */
  refresh?: boolean;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "PullRequestsResult".
 */
export interface PullRequestsResult {
  /**
   * Why they were not refreshed, when they were not
   */
  note?: string;
  pull_requests: PullRequestStatus[];
}
/**
 * Send an escalated or blocked bead back to a polecat, with the Overseer's note as guidance.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "RetryParams".
 */
export interface RetryParams {
  beadId: string;
  note?: string | null;
}
/**
 * The Overseer's verdict on a bead's branch: the whole branch, one file, or some hunks.
 *
 * Accepted hunks are merged by the Refinery (a hunk-level cherry-pick onto the integration branch).
 * A rejection with a comment sends the bead back to its polecat, which resumes with the comment.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "ReviewParams".
 */
export interface ReviewParams {
  action: "accept" | "reject";
  beadId: string;
  /**
   * Why; for a rejection it becomes rework feedback
   */
  comment?: string | null;
  hunkIds?: string[];
  /**
   * The line a comment is about (head side)
   */
  line?: number | null;
  /**
   * The file, for scope file or hunk
   */
  path?: string | null;
  scope?: "branch" | "file" | "hunk";
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "ReviewResult".
 */
export interface ReviewResult {
  bead_id: string;
  /**
   * Whether something reached the integration branch
   */
  merged: boolean;
  message: string;
  /**
   * Hunks still waiting for a verdict
   */
  pending_hunks?: string[];
  /**
   * The bead's status after the verdict
   */
  status: string;
}
/**
 * Pour a formula with its variables into an epic and beads, and run it like a goal.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "RunFormulaParams".
 */
export interface RunFormulaParams {
  name: string;
  vars?: {
    [k: string]: string | undefined;
  };
  workDoneToken?: string | number | null;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "RunFormulaResult".
 */
export interface RunFormulaResult {
  /**
   * The formula's beads, one per step, in step order
   */
  bead_ids: string[];
  epic_id: string;
  /**
   * Beads only the Overseer closes
   */
  human_bead_ids?: string[];
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "SubmitGoalParams".
 */
export interface SubmitGoalParams {
  /**
   * What the Overseer wants done, in plain words
   */
  goal: string;
  workDoneToken?: string | number | null;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "SubmitGoalResult".
 */
export interface SubmitGoalResult {
  /**
   * The plan's task beads, in creation order
   */
  bead_ids: string[];
  epic_id: string;
}
/**
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "UpdateBeadParams".
 */
export interface UpdateBeadParams {
  id: string;
  priority?: number | null;
  reason?: string | null;
  status?: ("open" | "closed" | "blocked" | "deferred") | null;
  title?: string | null;
}
/**
 * Landing through pull requests. ``local`` keeps today's way (``gastown land`` merges the integration branch
 * into your branch); ``pr`` opens one pull request per goal; ``pr-per-bead`` one per bead, stacked on the
 * pull requests of the beads it depends on.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "GitHubSettings".
 */
export interface GitHubSettings1 {
  /**
   * The REST API's base URL; empty = https://api.github.com, or https://HOST/api/v3 for a GitHub Enterprise remote
   */
  apiUrl?: string;
  /**
   * Merge the pull request when its checks pass (with a merge method the repository allows)
   */
  autoLand?: boolean;
  /**
   * The branch pull requests target; empty = the repository's default
   */
  base?: string;
  /**
   * Checks still pending after this long: the pull request is marked 'checks pending too long' and the Overseer is told
   */
  checksTimeout?: number;
  /**
   * Ask for a Copilot review on new pull requests (where the host allows it)
   */
  copilotReview?: boolean;
  /**
   * Open pull requests as drafts
   */
  draft?: boolean;
  /**
   * local (merge into your branch), pr (one pull request per goal) or pr-per-bead (one per bead, stacked on its dependencies' pull requests)
   */
  landing?: "local" | "pr" | "pr-per-bead";
  /**
   * The longest Retry-After (rate limit) waited for before a request fails with a clear error
   */
  maxRetryAfter?: number;
  /**
   * Seconds between looks at a pull request's checks and review comments
   */
  pollSeconds?: number;
  /**
   * The git remote pull request branches are pushed to
   */
  remote?: string;
  /**
   * owner/name on the host; empty = read from the remote's URL
   */
  repository?: string;
  /**
   * Reviewers requested on every pull request
   */
  reviewers?: string[];
}
/**
 * Runtime hosts: polecats on other machines, their branches travelling through a git remote.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "HostsSettings".
 */
export interface HostsSettings1 {
  /**
   * Polecats run on this machine at once when hosts are set (default: maxPolecats)
   */
  localSlots?: number | null;
  /**
   * The hosts polecats may be placed on
   */
  pool?: HostEntry[];
  /**
   * How often each host's health is asked
   */
  probeSeconds?: number;
  /**
   * The git remote (name or URL) the hosts clone: the town pushes the integration branch there and fetches polecat branches from it
   */
  remote?: string;
  /**
   * A host silent this long is lost: its polecats are requeued
   */
  timeoutSeconds?: number;
}
/**
 * The polecats' permission policy, the Witness's supervision, budgets and the worktree pool.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "PolecatSettings".
 */
export interface PolecatSettings1 {
  /**
   * If set, a shell command must match one of these regexes
   */
  allowCommands?: string[];
  /**
   * Let polecats fetch URLs
   */
  allowUrls?: boolean;
  budget?: BudgetSettings;
  /**
   * Extra regexes a shell command must not match (added to the built-in denials: git push, branch switching, sudo, installs, network tools)
   */
  denyCommands?: string[];
  /**
   * Idle worktrees `gastown gc` keeps for reuse
   */
  keepIdleWorktrees?: number;
  /**
   * Restarts of a stuck polecat before the bead is escalated
   */
  maxRestarts?: number;
  /**
   * Seconds a polecat waits for the Overseer's answer before its bead is escalated (waiting is not a stall)
   */
  needsInputTimeout?: number;
  nudge?: string;
  /**
   * Folders polecats may read besides their worktree and the workspace
   */
  readablePaths?: string[];
  /**
   * Confine polecats' shell commands with bubblewrap: auto (where bwrap works, else a warning), required (refuse to start polecats without it) or off
   */
  sandbox?: "auto" | "required" | "off";
  /**
   * No agent event for this long: the Witness nudges, then restarts
   */
  stallSeconds?: number;
  /**
   * The same while a tool (e.g. a test run) is executing
   */
  toolStallSeconds?: number;
}
/**
 * OpenTelemetry traces (one trace per goal: planning, beads, polecat runs, tools, verification, merge),
 * and the Copilot CLI's own spans sent to the same place. Off by default.
 *
 * This interface was referenced by `GastownProtocol`'s JSON-Schema
 * via the `definition` "TelemetrySettings".
 */
export interface TelemetrySettings1 {
  /**
   * Also export the Copilot CLI's own spans, joined to the goal's trace
   */
  copilotCli?: boolean;
  /**
   * OTLP/HTTP base URL (e.g. Jaeger or a collector); /v1/traces is added
   */
  endpoint?: string;
  /**
   * none (off), otlp (OTLP/HTTP to the endpoint) or file (JSON lines)
   */
  exporter?: "none" | "otlp" | "file";
  /**
   * The JSON-lines file of exporter=file (default .gastown/telemetry/spans.jsonl); the Copilot CLI writes <name>.copilot.jsonl beside it
   */
  filePath?: string | null;
  /**
   * OTLP headers as key=value pairs separated by commas (e.g. Authorization=Bearer …); a secret: never in gastown.toml
   */
  headers?: string | null;
  /**
   * service.name of the spans
   */
  serviceName?: string;
}
