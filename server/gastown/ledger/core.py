"""The ledger's synchronous core, one name for its parts: every read and write as plain ``sqlite3`` calls
on one connection.

The async :class:`~gastown.ledger.store.Store` runs these functions on its connections' worker threads,
so one ledger operation costs one round trip from the event loop, however many statements it runs.
The work is split by concern:

- :mod:`gastown.ledger.rows` — a bead to its row and back, the full-text queue, shared checks;
- :mod:`gastown.ledger.blocked` — ready/blocked kept up to date on write (the incremental refresh);
- :mod:`gastown.ledger.writes` — the write transaction's state and every write operation;
- :mod:`gastown.ledger.queries` — ready, lists, search, events, trees, cycles, the JSONL text;
- :mod:`gastown.ledger.sql` — SQL text the queries share with the command line's light reader.

``from gastown.ledger import core`` keeps working for all of them.
"""

from __future__ import annotations

from gastown.ledger.blocked import TEMP_TABLES, refresh_blocked
from gastown.ledger.model import BeadNotFound, DependencyCycle, InvalidBead, LedgerError
from gastown.ledger.queries import (
    EVENT_KEYS,
    blocked,
    cycles,
    dependency_tree,
    events,
    export_text,
    fts_query,
    list_beads,
    ready,
    search,
)
from gastown.ledger.rows import (
    _CYCLE_TYPES,
    check_label,
    check_priority,
    check_title,
    content_hash,
    exists,
    flush_fts,
    fts_pending,
    get,
    load,
    mark_fts_done,
    meta_int,
    row_values,
    set_meta,
    sort_ts,
    validate,
    write_row,
)
from gastown.ledger.sql import READY_SQL, now_key
from gastown.ledger.writes import (
    BUSY_TIMEOUT_MS,
    PATIENCE_S,
    UPDATABLE_FIELDS,
    SizeHint,
    WriteState,
    add_comment,
    add_dependency,
    add_labels,
    begin,
    begin_immediate,
    claim,
    claim_many,
    close_bead,
    create,
    finish,
    import_beads,
    is_busy,
    remove_dependency,
    remove_labels,
    reopen,
    try_begin,
    update,
)

__all__ = [
    "BUSY_TIMEOUT_MS", "EVENT_KEYS", "PATIENCE_S", "READY_SQL", "TEMP_TABLES", "UPDATABLE_FIELDS", "_CYCLE_TYPES",
    "BeadNotFound", "DependencyCycle", "InvalidBead", "LedgerError", "SizeHint", "WriteState", "add_comment",
    "add_dependency", "add_labels", "begin", "begin_immediate", "blocked", "check_label", "check_priority",
    "check_title", "claim", "claim_many", "close_bead", "content_hash", "create", "cycles", "dependency_tree",
    "events", "exists", "export_text", "finish", "flush_fts", "fts_pending", "fts_query", "get",
    "import_beads", "is_busy", "list_beads", "load", "mark_fts_done", "meta_int", "now_key", "ready", "refresh_blocked",
    "remove_dependency", "remove_labels", "reopen", "row_values", "search", "set_meta", "sort_ts", "try_begin", "update",
    "validate", "write_row",
]
