import { describe, expect, it } from "vitest";
import { Methods } from "../src/contracts";
import type { PullRequestStatus } from "../src/protocol";
import { PullRequests, type PullRequestServer, prLabel } from "../src/pullRequests";

const pr = (over: Partial<PullRequestStatus> = {}): PullRequestStatus => ({
  epic_id: "gt-1",
  number: 12,
  url: "https://github.example/acme/calc/pull/12",
  state: "open",
  checks: "pending",
  ...over,
});

class FakeServer implements PullRequestServer {
  sent: [string, unknown][] = [];
  handlers = new Map<string, (p: PullRequestStatus) => void>();
  constructor(private readonly list: PullRequestStatus[]) {}
  async sendRequest<R>(method: string, params: unknown): Promise<R> {
    this.sent.push([method, params]);
    return (method === Methods.pullRequests ? { pull_requests: this.list, note: "" } : { ok: true }) as R;
  }
  onNotification(method: string, handler: (p: PullRequestStatus) => void) {
    this.handlers.set(method, handler);
    return { dispose: () => this.handlers.delete(method) };
  }
}

describe("prLabel", () => {
  it("says the number, the state and the checks", () => {
    expect(prLabel(pr({ checks: "success" }))).toBe("#12 open · checks passed");
    expect(prLabel(pr({ checks: "failure" }))).toBe("#12 open · checks failed");
    expect(prLabel(pr({ checks: "timeout" }))).toBe("#12 open · checks pending too long");
    expect(prLabel(pr({ state: "merged", checks: "success" }))).toBe("#12 merged");
  });
});

describe("PullRequests", () => {
  it("hands the token over first, then lists, then follows the changes", async () => {
    const server = new FakeServer([pr()]);
    const pulls = new PullRequests();
    let changes = 0;
    pulls.onDidChange(() => changes++);
    await pulls.attach(server, "ghp_secret");
    expect(server.sent.map(([m]) => m)).toEqual([Methods.githubToken, Methods.pullRequests]);
    expect(server.sent[0][1]).toEqual({ token: "ghp_secret" });
    expect(pulls.describe("gt-1")).toBe("#12 open · checks pending");
    expect(pulls.describe("gt-2")).toBeUndefined();

    server.handlers.get(Methods.pullRequestChanged)?.(pr({ checks: "success" }));
    expect(pulls.describe("gt-1")).toBe("#12 open · checks passed");
    expect(changes).toBe(2);
  });

  it("sends no token when the editor has none", async () => {
    const server = new FakeServer([]);
    await new PullRequests().attach(server, undefined);
    expect(server.sent.map(([m]) => m)).toEqual([Methods.pullRequests]);
  });
});
