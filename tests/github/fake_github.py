"""A loopback GitHub: the REST subset gastown.github uses, on 127.0.0.1, over a real bare git repository (the
remote pushes go to). Every response body is first built from GitHub's published OpenAPI description (required
fields filled from the schema, then the real values laid over) and validated against it; a body that does not
validate is recorded in ``schema_errors`` (the tests assert there are none) and answered with a 500.

Tests script it: ``checks`` (sha → check runs / statuses), ``fail_next`` (403/429 with headers), review comments;
``requests`` records every request with its time (no sleeps needed to observe it)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from openapi_schema_validator import OAS30Validator

from tests.github.openapi_subset import SUBSET


def _null_in_nullable_enums(node: Any) -> None:
    """GitHub marks e.g. a check run's ``conclusion`` ``nullable`` with an ``enum`` that lacks null (and sends null
    for a run in progress); OpenAPI 3.0.3 reads such an enum strictly, so null is added where nullable says so."""
    if isinstance(node, dict):
        if node.get("nullable") and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"].append(None)
        for value in node.values():
            _null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _null_in_nullable_enums(value)


SPEC: dict[str, Any] = json.loads(SUBSET.read_text())
_null_in_nullable_enums(SPEC)
PREFIX = "/api/v3"
STAMP = "2026-11-30T09:00:00Z"


def _resolve(ref: str) -> Any:
    node: Any = SPEC
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def sample(schema: dict[str, Any], depth: int = 0) -> Any:
    """A value with every required field of ``schema``, filled by type (the real values are laid over it)."""
    if "$ref" in schema:
        return sample(_resolve(schema["$ref"]), depth)
    if "allOf" in schema:
        out: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = sample(part, depth)
            if isinstance(value, dict):
                out.update(value)
        return out
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return sample(schema[key][0], depth)
    if schema.get("nullable") and depth > 6:
        return None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: sample(props.get(name, {"type": "string"}), depth + 1) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date-time":
        return STAMP
    if fmt in ("uri", "uri-template", "url"):
        return "https://example.invalid/x"
    if fmt == "email":
        return "someone@example.invalid"
    return "x"


def lay(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = lay(base.get(key), value) if key in base else value
        return out
    return copy.deepcopy(over)


def build(component: str, **values: Any) -> dict[str, Any]:
    return lay(sample({"$ref": f"#/components/schemas/{component}"}), values)  # type: ignore[no-any-return]


def validate(operation: str, body: Any) -> list[str]:
    schema = {**SPEC["operations"][operation]["schema"], "components": SPEC["components"]}
    validator = OAS30Validator(schema)
    return [f"{operation}: {'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(body)]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Pull:
    number: int
    head: str
    base: str
    title: str
    body: str
    draft: bool = False
    state: str = "open"
    merged_sha: str | None = None
    merge_method: str | None = None
    reviewers: list[str] = field(default_factory=list)


@dataclass
class Request:
    at: float
    method: str
    path: str
    status: int
    body: Any = None
    auth: str = ""


class FakeGitHub:
    def __init__(self, remote: Path, *, token: str, owner: str = "acme", name: str = "calc",
                 default_branch: str = "main", merge_methods: tuple[str, ...] = ("merge", "squash", "rebase")) -> None:
        self.remote = remote
        self.token = token
        self.owner, self.name = owner, name
        self.default_branch = default_branch
        self.merge_methods = merge_methods
        self.pulls: dict[int, Pull] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        # sha -> (check runs as (name, status, conclusion, output, annotations), statuses as (context, state, desc))
        self.checks: Callable[[str], tuple[list[dict[str, Any]], list[dict[str, Any]]]] = lambda sha: ([], [])
        self.fail_next: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self.requests: list[Request] = []
        self.schema_errors: list[str] = []
        self.unknown_reviewers = {"copilot-pull-request-reviewer[bot]"}
        self._ids = 1000
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                fake._serve(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def api_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{PREFIX}"

    def next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    # --- what tests look at -------------------------------------------------------------------------
    def calls(self, method: str, pattern: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    def ref(self, branch: str) -> str | None:
        out = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=self.remote,
                             capture_output=True, text=True)
        return out.stdout.strip() or None

    def add_review_comment(self, number: int, path: str, line: int, body: str, user: str = "reviewer") -> int:
        pull = self.pulls[number]
        sha = self.ref(pull.head)
        assert sha is not None
        cid = self.next_id()
        self.comments.setdefault(number, []).append({"id": cid, "path": path, "line": line, "original_line": line,
                                                     "commit_id": sha, "original_commit_id": sha, "body": body,
                                                     "user": user, "side": "RIGHT"})
        return cid

    # --- objects, as GitHub shapes them -----------------------------------------------------------------
    def _html(self, *parts: object) -> str:
        return "https://github.example/" + "/".join([self.owner, self.name, *map(str, parts)])

    def _user(self, login: str) -> dict[str, Any]:
        return build("simple-user", login=login, id=7, type="User", html_url=f"https://github.example/{login}")

    def _repo(self) -> dict[str, Any]:
        return build("full-repository", id=42, name=self.name, full_name=f"{self.owner}/{self.name}",
                     owner=self._user(self.owner), html_url=self._html().rstrip("/"), private=False,
                     default_branch=self.default_branch, allow_merge_commit="merge" in self.merge_methods,
                     allow_squash_merge="squash" in self.merge_methods,
                     allow_rebase_merge="rebase" in self.merge_methods)

    def _pull(self, pull: Pull, full: bool) -> dict[str, Any]:
        head_sha = self.ref(pull.head) or "0" * 40
        base_sha = self.ref(pull.base) or "0" * 40
        repo = build("repository", id=42, name=self.name, full_name=f"{self.owner}/{self.name}",
                     owner=self._user(self.owner), default_branch=self.default_branch)
        values: dict[str, Any] = {
            "id": pull.number + 500, "number": pull.number, "state": pull.state, "title": pull.title,
            "body": pull.body, "draft": pull.draft, "html_url": self._html("pull", pull.number),
            "user": self._user("gastown-user"), "locked": False, "created_at": STAMP, "updated_at": STAMP,
            "merged_at": STAMP if pull.merged_sha else None, "merge_commit_sha": pull.merged_sha,
            "head": {"ref": pull.head, "sha": head_sha, "label": f"{self.owner}:{pull.head}", "repo": repo,
                     "user": self._user(self.owner)},
            "base": {"ref": pull.base, "sha": base_sha, "label": f"{self.owner}:{pull.base}", "repo": repo,
                     "user": self._user(self.owner)},
            "requested_reviewers": [self._user(r) for r in pull.reviewers],
        }
        if full:
            values.update(merged=pull.merged_sha is not None, mergeable=True, comments=0, review_comments=0,
                          commits=1, additions=1, deletions=0, changed_files=1, maintainer_can_modify=False,
                          merged_by=self._user("gastown-user") if pull.merged_sha else None)
        return build("pull-request" if full else "pull-request-simple", **values)

    def _check_run(self, sha: str, run: dict[str, Any]) -> dict[str, Any]:
        output = run.get("output", {})
        return build("check-run", id=run["id"], head_sha=sha, name=run["name"], status=run["status"],
                     conclusion=run.get("conclusion"), html_url=self._html("runs", run["id"]),
                     details_url=self._html("runs", run["id"]), started_at=STAMP,
                     completed_at=STAMP if run["status"] == "completed" else None,
                     output={"title": output.get("title"), "summary": output.get("summary"),
                             "text": output.get("text"), "annotations_count": len(run.get("annotations", [])),
                             "annotations_url": self._html("annotations", run["id"])})

    # --- routing ---------------------------------------------------------------------------------------
    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        path = url.path.removeprefix(PREFIX)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length else b""
        data = json.loads(raw) if raw else None
        auth = h.headers.get("authorization") or ""
        status, headers, body, operation = self._route(h.command, path, query, data, auth)
        if operation is not None and 200 <= status < 300:
            errors = validate(operation, body)
            if errors:
                self.schema_errors.extend(errors)
                status, body = 500, {"message": "fake GitHub built an invalid body", "errors": errors[:5]}
        self.requests.append(Request(time.monotonic(), h.command, path, status, data, auth))
        payload = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("content-type", "application/json; charset=utf-8")
        h.send_header("content-length", str(len(payload)))
        for key, value in headers.items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(payload)

    def _route(self, method: str, path: str, query: dict[str, str], data: Any, auth: str
               ) -> tuple[int, dict[str, str], Any, str | None]:
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return 401, {}, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, None
        if self.fail_next:
            status, headers, body = self.fail_next.pop(0)
            return status, headers, body, None
        repo = f"/repos/{self.owner}/{self.name}"
        if not path.startswith(repo):
            return 404, {}, {"message": "Not Found"}, None
        rest = path[len(repo):]
        routes: list[tuple[str, str, Callable[..., tuple[int, Any]], str]] = [
            ("GET", r"", lambda: (200, self._repo()), "GET /repos/{owner}/{repo}"),
            ("GET", r"/pulls", lambda: self._list_pulls(query), "GET /repos/{owner}/{repo}/pulls"),
            ("POST", r"/pulls", lambda: self._create(data), "POST /repos/{owner}/{repo}/pulls"),
            ("GET", r"/pulls/(\d+)", lambda n: (200, self._pull(self.pulls[int(n)], True)),
             "GET /repos/{owner}/{repo}/pulls/{pull_number}"),
            ("PATCH", r"/pulls/(\d+)", lambda n: self._update(int(n), data),
             "PATCH /repos/{owner}/{repo}/pulls/{pull_number}"),
            ("PUT", r"/pulls/(\d+)/merge", lambda n: self._merge(int(n), data),
             "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge"),
            ("POST", r"/pulls/(\d+)/requested_reviewers", lambda n: self._reviewers(int(n), data),
             "POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
            ("GET", r"/pulls/(\d+)/comments", lambda n: (200, self._comments(int(n))),
             "GET /repos/{owner}/{repo}/pulls/{pull_number}/comments"),
            ("GET", r"/commits/([0-9a-f]{40})/check-runs", lambda sha: (200, self._runs(sha)),
             "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"),
            ("GET", r"/commits/([0-9a-f]{40})/status", lambda sha: (200, self._status(sha)),
             "GET /repos/{owner}/{repo}/commits/{ref}/status"),
            ("GET", r"/check-runs/(\d+)/annotations", lambda i: (200, self._annotations(int(i))),
             "GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations"),
        ]
        for verb, pattern, fn, operation in routes:
            m = re.fullmatch(pattern, rest)
            if verb == method and m:
                try:
                    status, body = fn(*m.groups())
                except KeyError:
                    return 404, {}, {"message": "Not Found"}, None
                return status, {}, body, operation if status < 300 else None
        return 404, {}, {"message": "Not Found"}, None

    # --- handlers ---------------------------------------------------------------------------------------
    def _list_pulls(self, query: dict[str, str]) -> tuple[int, Any]:
        head = query.get("head", "")
        found = [p for p in self.pulls.values()
                 if (not head or f"{self.owner}:{p.head}" == head)
                 and (query.get("state", "open") == "all" or p.state == query.get("state", "open"))
                 and (not query.get("base") or p.base == query["base"])]
        return 200, [self._pull(p, False) for p in found]

    def _create(self, data: dict[str, Any]) -> tuple[int, Any]:
        if self.ref(data["head"]) is None:
            return 422, {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]}
        if any(p.head == data["head"] and p.state == "open" for p in self.pulls.values()):
            return 422, {"message": f"A pull request already exists for {self.owner}:{data['head']}."}
        number = len(self.pulls) + 1
        pull = Pull(number, data["head"], data["base"], data["title"], data.get("body") or "", bool(data.get("draft")))
        self.pulls[number] = pull
        return 201, self._pull(pull, True)

    def _update(self, number: int, data: dict[str, Any]) -> tuple[int, Any]:
        pull = self.pulls[number]
        for key in ("title", "body", "base", "state"):
            if key in data:
                setattr(pull, key, data[key])
        return 200, self._pull(pull, True)

    def _merge(self, number: int, data: dict[str, Any]) -> tuple[int, Any]:
        pull = self.pulls[number]
        method = data.get("merge_method", "merge")
        if method not in self.merge_methods:
            return 405, {"message": f"{method} merges are not allowed on this repository."}
        head = self.ref(pull.head)
        if data.get("sha") and data["sha"] != head:
            return 409, {"message": "Head branch was modified. Review and try the merge again."}
        base = self.ref(pull.base)
        assert head is not None and base is not None
        tree = _git(self.remote, "merge-tree", "--write-tree", base, head).splitlines()[0]
        env_msg = f"Merge pull request #{number} from {self.owner}/{pull.head}"
        sha = subprocess.run(["git", "commit-tree", tree, "-p", base, "-p", head, "-m", env_msg], cwd=self.remote,
                             check=True, capture_output=True, text=True).stdout.strip()
        _git(self.remote, "update-ref", f"refs/heads/{pull.base}", sha, base)
        pull.merged_sha, pull.state, pull.merge_method = sha, "closed", method
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}

    def _reviewers(self, number: int, data: dict[str, Any]) -> tuple[int, Any]:
        unknown = [r for r in data.get("reviewers", []) if r in self.unknown_reviewers]
        if unknown:
            return 422, {"message": "Reviews may only be requested from collaborators. One or more of the users or "
                                    "teams you specified is not a collaborator of the repository."}
        self.pulls[number].reviewers.extend(data.get("reviewers", []))
        return 201, self._pull(self.pulls[number], False)

    def _comments(self, number: int) -> list[dict[str, Any]]:
        out = []
        for c in self.comments.get(number, []):
            out.append(build("pull-request-review-comment", id=c["id"], node_id=f"C{c['id']}", path=c["path"],
                             line=c["line"], original_line=c["original_line"], commit_id=c["commit_id"],
                             original_commit_id=c["original_commit_id"], body=c["body"], side=c["side"],
                             user=self._user(c["user"]), html_url=self._html("pull", number, f"#r{c['id']}"),
                             pull_request_url=self._html("pull", number), diff_hunk="@@ -1 +1 @@",
                             position=1, original_position=1, created_at=STAMP, updated_at=STAMP,
                             pull_request_review_id=1, author_association="MEMBER"))
        return out

    def _runs(self, sha: str) -> dict[str, Any]:
        runs, _ = self.checks(sha)
        return {"total_count": len(runs), "check_runs": [self._check_run(sha, r) for r in runs]}

    def _status(self, sha: str) -> dict[str, Any]:
        _, statuses = self.checks(sha)
        states = [s["state"] for s in statuses]
        overall = ("failure" if any(s in ("failure", "error") for s in states) else
                   "pending" if not states or "pending" in states else "success")
        return build("combined-commit-status", state=overall, sha=sha, total_count=len(statuses),
                     statuses=[build("simple-commit-status", id=i + 1, node_id=f"S{i}", state=s["state"],
                                     context=s["context"], description=s.get("description"),
                                     target_url=s.get("target_url"), avatar_url=None, url=self._html("s", i),
                                     created_at=STAMP, updated_at=STAMP)
                               for i, s in enumerate(statuses)],
                     commit_url=self._html("commit", sha), url=self._html("status", sha),
                     repository=build("minimal-repository", id=42, name=self.name,
                                      full_name=f"{self.owner}/{self.name}", owner=self._user(self.owner)))

    def _annotations(self, check_run_id: int) -> list[dict[str, Any]]:
        for sha_runs in self._all_runs():
            for run in sha_runs:
                if run["id"] == check_run_id:
                    return [build("check-annotation", path=a["path"], start_line=a["line"], end_line=a["line"],
                                  annotation_level="failure", message=a["message"], title=a.get("title"),
                                  blob_href=self._html("blob", a["path"]), start_column=None, end_column=None,
                                  raw_details=None)
                            for a in run.get("annotations", [])]
        raise KeyError(check_run_id)

    def _all_runs(self) -> list[list[dict[str, Any]]]:
        shas = {self.ref(p.head) for p in self.pulls.values()}
        return [self.checks(sha)[0] for sha in shas if sha]
