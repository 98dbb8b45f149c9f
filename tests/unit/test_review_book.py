from gastown.lsp.protocol import ReviewParams
from gastown.lsp.review import ReviewBook
from gastown.town.diff import BeadDiff, FileDiff, Hunk


def hunk(hid: str, start: int) -> Hunk:
    return Hunk(id=hid, header="@@", old_start=start, old_lines=1, new_start=start, new_lines=1, lines=["+x"])


DIFF = BeadDiff(bead_id="gt-1", branch="polecat/gt-1", base="b", head="h1", merged=False, files=[
    FileDiff(path="a.py", status="modified", hunks=[hunk("a1", 3), hunk("a2", 30)]),
    FileDiff(path="b.py", status="added", hunks=[hunk("b1", 1)]),
])


def review(**kw) -> ReviewParams:
    return ReviewParams.model_validate({"beadId": "gt-1", **kw})


def test_hunk_verdicts_gather_until_every_hunk_has_one():
    book = ReviewBook()
    first = book.record(review(action="accept", scope="hunk", hunkIds=["a1"]), DIFF)
    assert first.kind == "pending" and first.pending == ["a2", "b1"]
    second = book.record(review(action="reject", scope="hunk", hunkIds=["a2"], comment="keep the old name",
                                line=31), DIFF)
    assert second.kind == "pending" and second.pending == ["b1"]
    final = book.record(review(action="accept", scope="file", path="b.py"), DIFF)
    assert final.kind == "reject" and final.keep == ["a1", "b1"]
    assert final.comment == "a.py:32: keep the old name"


def test_dropping_hunks_without_comment_is_a_partial_accept():
    book = ReviewBook()
    book.record(review(action="reject", scope="file", path="a.py"), DIFF)
    final = book.record(review(action="accept", scope="hunk", hunkIds=["b1"]), DIFF)
    assert final.kind == "accept" and final.hunk_ids == ["b1"]


def test_all_accepted_is_the_whole_branch_and_a_new_head_starts_over():
    book = ReviewBook()
    book.record(review(action="reject", scope="hunk", hunkIds=["a1"], comment="no"), DIFF)
    reworked = DIFF.model_copy(update={"head": "h2"})
    book.record(review(action="accept", scope="file", path="a.py"), reworked)
    final = book.record(review(action="accept", scope="file", path="b.py"), reworked)
    assert final.kind == "accept" and final.hunk_ids is None


def test_branch_verdicts_cover_the_remaining_hunks_and_bad_ids_are_refused():
    book = ReviewBook()
    book.record(review(action="accept", scope="hunk", hunkIds=["a1"]), DIFF)
    final = book.record(review(action="reject", scope="branch", comment="start over"), DIFF)
    assert final.kind == "reject" and final.keep == ["a1"] and final.comment == "start over"
    assert book.record(review(action="accept"), DIFF).hunk_ids is None
    book.record(review(action="reject", scope="hunk", hunkIds=["b1"]), DIFF)
    rest = book.record(review(action="accept", scope="branch"), DIFF)
    assert rest.kind == "accept" and rest.hunk_ids == ["a1", "a2"]
    for bad in (review(action="accept", scope="hunk", hunkIds=["zz"]), review(action="accept", scope="file"),
                review(action="accept", scope="file", path="c.py")):
        try:
            book.record(bad, DIFF)
        except ValueError as exc:
            assert "gt-1" in str(exc) or "path" in str(exc)
        else:
            raise AssertionError(f"accepted a bad verdict: {bad}")
