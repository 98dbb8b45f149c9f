import json
import urllib.request
from pathlib import Path

import pytest

from gastown.runtime.scripted_model import Scenario, ScenarioError, ScriptedModelServer, choose_reply

SCENARIO = Scenario.model_validate({"rules": [
    {"name": "w", "match": r"Worktree: (?P<wt>\S+)", "steps": [
        {"tool_calls": [{"name": "create", "arguments": {"path": "{{wt}}/a.py", "file_text": "x"}}]},
        {"text": "done in {{wt}}"},
    ]},
]})


def conversation(prompt: str, assistant_turns: int) -> list[dict]:
    msgs = [{"role": "system", "content": "sys"}, {"role": "user", "content": prompt}]
    for i in range(assistant_turns):
        msgs += [{"role": "assistant", "content": None}, {"role": "tool", "content": f"r{i}"}]
    return msgs


def test_step_follows_assistant_turns_and_fills_captures():
    first = choose_reply(SCENARIO, conversation("Worktree: /w/1\nGo", 0))
    assert first.tool_calls[0].arguments["path"] == "/w/1/a.py"
    second = choose_reply(SCENARIO, conversation("Worktree: /w/1\nGo", 1))
    assert second.text == "done in /w/1" and not second.tool_calls
    after = choose_reply(SCENARIO, conversation("Worktree: /w/1\nGo", 5))
    assert after.text == "Done."
    assert choose_reply(SCENARIO, conversation("unrelated", 0)).rule is None


@pytest.mark.parametrize("content, needle", [
    ("{not json", "not valid JSON at line 1"),
    (json.dumps({"rules": []}), "rules"),
    (json.dumps({"rules": [{"match": "(", "steps": [{"text": "x"}]}]}), "invalid regex"),
    (json.dumps({"rules": [{"match": "x", "steps": [{}]}]}), "rules.0.steps.0"),
    (json.dumps({"rules": [{"match": "x", "steps": [{"text": "x", "oops": 1}]}]}), "oops"),
])
def test_bad_scenarios_name_the_problem(tmp_path: Path, content: str, needle: str):
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(ScenarioError) as err:
        Scenario.load(path)
    assert needle in str(err.value) and str(path) in str(err.value)


def test_missing_scenario_file(tmp_path: Path):
    with pytest.raises(ScenarioError, match="not found"):
        Scenario.load(tmp_path / "nope.json")


def test_streaming_endpoint_speaks_openai_sse():
    with ScriptedModelServer(SCENARIO) as server:
        body = json.dumps({"model": "m", "stream": True,
                           "messages": conversation("Worktree: /w/2\nGo", 0)}).encode()
        req = urllib.request.Request(server.base_url + "/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
        raw = urllib.request.urlopen(req, timeout=5).read().decode()
    events = [line[6:] for line in raw.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    calls = [c for ch in chunks for choice in ch["choices"] for c in choice["delta"].get("tool_calls", [])]
    assert calls[0]["function"]["name"] == "create"
    assert json.loads(calls[0]["function"]["arguments"])["path"] == "/w/2/a.py"
    assert any(choice.get("finish_reason") == "tool_calls" for ch in chunks for choice in ch["choices"])
    assert chunks[-1]["usage"]["total_tokens"] > 0
    assert len(server.requests) == 1
