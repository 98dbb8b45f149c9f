"""The contracts the extension is generated from: camelCase keys by alias generator, the editor's settings
table resolved against the Settings model, and the method names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gastown.config import Settings
from gastown.lsp import protocol as P
from gastown.lsp.codelens import InFlight, lenses_for_changes
from gastown.lsp.editor_settings import SETTINGS, EditorSetting, describe, editor_settings
from gastown.schemas import contracts


def test_params_and_settings_take_camel_case_and_python_names():
    assert P.ReviewParams.model_validate({"beadId": "gt-1", "action": "accept", "hunkIds": ["h1"]}).hunk_ids == ["h1"]
    assert P.DiffParams.model_validate({"bead_id": "gt-1"}).bead_id == "gt-1"
    s = Settings.model_validate({"maxPolecats": 3, "turnTimeout": 9, "polecats": {"budget": {"tokensPerBead": 5}}})
    assert (s.max_polecats, s.turn_timeout_s, s.polecats.budget.tokens_per_bead) == (3, 9, 5)
    # Results stay snake_case, as the ledger writes them.
    assert "bead_ids" in P.SubmitGoalResult(epic_id="gt-e", bead_ids=[]).model_dump(mode="json")


def test_every_editor_setting_fills_a_real_server_key_with_its_bounds():
    described = {d["key"]: d for d in editor_settings()}
    assert list(described) == [s.key for s in SETTINGS]
    # The same key in the editor, gastown.toml and GASTOWN_ variables.
    assert all(s.key == s.option for s in SETTINGS if s.option)
    turn = described["turnTimeout"]["configuration"]
    assert turn["type"] == "number" and turn["default"] == 300 and turn["exclusiveMinimum"] == 0
    assert described["maxPolecats"]["configuration"] | {"description": ""} == {
        "type": "integer", "default": 4, "minimum": 1, "maximum": 64, "description": ""}
    assert described["conflictRadar"]["configuration"]["enum"] == ["hold", "serialize", "off"]
    assert described["cliPath"]["configuration"]["default"] == ""  # `str | None`: empty means unset
    # Each default the editor shows is one the server accepts at that key.
    for d in described.values():
        default = d["configuration"]["default"]
        if d["option"] and default != "":
            data: dict = {}
            node = data
            *parents, leaf = d["option"].split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = default
            Settings.model_validate(data)


def test_an_editor_setting_naming_no_server_key_is_refused():
    schema = Settings.model_json_schema(mode="validation", by_alias=True)
    with pytest.raises(KeyError, match="polecats.stallSecs"):
        describe(EditorSetting("witness.stall", "polecats.stallSecs", "x"), schema)


def test_method_names_are_written_for_the_extension():
    files = contracts()
    assert '"beads": "gastown/beads"' in files["protocol.json"]
    assert '"createBead": "gastown.createBead"' in files["protocol.json"]
    assert set(P.METHODS) >= {P.BEADS, P.BEAD, P.BEADS_CHANGED, P.AGENT_STATUS}
    assert "InitializationOptions.schema.json" in files


def test_the_overseer_s_messages_validate_their_params():
    assert P.AnswerParams.model_validate({"beadId": "gt-1", "text": "config.toml"}).bead_id == "gt-1"
    assert P.RetryParams.model_validate({"beadId": "gt-1"}).note is None
    for model, raw, field in ((P.AnswerParams, {"beadId": "gt-1", "text": ""}, "text"),
                              (P.NudgeParams, {"text": "hi"}, "beadId"),
                              (P.RetryParams, {"beadId": ""}, "beadId")):
        with pytest.raises(ValidationError, match=field):
            model.model_validate(raw)
    assert {P.ANSWER, P.NUDGE, P.RETRY} <= set(P.METHODS)


def test_a_file_a_polecat_is_changing_names_it_and_offers_its_diff():
    lenses = lenses_for_changes([InFlight("polecat-gt-a1", "gt-a1", "Add multiply")])
    assert [(lens.line, lens.title, lens.command, lens.arguments) for lens in lenses] == [
        (0, "polecat-gt-a1 is changing this file · gt-a1: Add multiply", "gastown.agent.openLog", ["polecat-gt-a1"]),
        (0, "Open Diff", "gastown.bead.openDiff", ["gt-a1"]),
    ]
    assert lenses_for_changes([]) == []
