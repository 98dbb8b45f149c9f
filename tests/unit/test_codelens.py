from gastown.ledger.model import Bead
from gastown.lsp.codelens import bead_id_pattern, lenses_for

BEADS = {"gt-a1b2": Bead(id="gt-a1b2", title="Fix the parser", status="in_progress", priority=1)}
PATTERN = bead_id_pattern(["gt", "bd"])

SOURCE = """import os  # see gt-a1b2 for why
x = "gt-a1b2"
# TODO: handle unicode names
// FIXME(alice): leaks a file handle
y = 1  # gt-zzzz is unknown
# todo lowercase is not a marker
"""


def test_bead_ids_in_comments_and_todos():
    lenses = lenses_for(SOURCE, PATTERN, BEADS.get)
    titles = [(lens.line, lens.title, lens.command) for lens in lenses]
    assert titles[0] == (0, "gt-a1b2 · in_progress · P1 · Fix the parser", "gastown.showBead")
    assert (2, "Create bead", "gastown.createBead") in titles
    assert (3, "Create bead", "gastown.createBead") in titles
    assert all(line != 1 for line, _, _ in titles)  # an id in a string, not a comment
    assert all(line not in (4, 5) for line, _, _ in titles)  # unknown id; lowercase todo
    todo = next(lens for lens in lenses if lens.line == 2)
    assert todo.arguments == [{"title": "handle unicode names", "line": 2}]
    fixme = next(lens for lens in lenses if lens.line == 3)
    assert fixme.arguments[0]["title"] == "leaks a file handle"
    first = lenses[0]
    assert SOURCE.splitlines()[0][first.start:first.end] == "gt-a1b2"
