// Diffs as gastown/diff sends them. CALC is real: `git diff -U3` of a two-commit repo, parsed by the
// server's parse_unified_diff (server/gastown/town/diff.py); the head side of calc.py is CALC_HEAD.
import type { DiffResult, FileDiff, Hunk } from "../src/protocol";

export const CALC_HEAD = [
  "import os",
  "import sys",
  "",
  "",
  "def add(a, b):",
  "    return a + b",
  "",
  "",
  "def sub(a, b):",
  "    return a - b",
  "",
  "",
  "def mul(a, b):",
  "    return a * b",
  "",
  "",
  "def tail():",
  "    pass",
  "",
  "",
  "def div(a, b):",
  "    return a / b",
].join("\n");

export const CALC_HUNK_IMPORT: Hunk = {
  id: "f5ee3ca5cddd",
  header: "@@ -1,4 +1,5 @@",
  old_start: 1,
  old_lines: 4,
  new_start: 1,
  new_lines: 5,
  lines: [" import os", "+import sys", " ", " ", " def add(a, b):"],
};

export const CALC_HUNK_TAIL: Hunk = {
  id: "ce35c01017dc",
  header: "@@ -13,9 +14,9 @@ def mul(a, b):",
  old_start: 13,
  old_lines: 9,
  new_start: 14,
  new_lines: 9,
  lines: [
    "     return a * b",
    " ",
    " ",
    "-def old(a):",
    "-    return a",
    "-",
    "-",
    " def tail():",
    "     pass",
    "+",
    "+",
    "+def div(a, b):",
    "+    return a / b",
  ],
};

export const CALC_FILE: FileDiff = {
  path: "calc.py",
  status: "modified",
  header: ["diff --git a/calc.py b/calc.py", "index 29cd210..320431d 100644", "--- a/calc.py", "+++ b/calc.py"],
  hunks: [CALC_HUNK_IMPORT, CALC_HUNK_TAIL],
};

export const NEW_FILE: FileDiff = {
  path: "docs/usage.md",
  status: "added",
  header: ["diff --git a/docs/usage.md b/docs/usage.md", "new file mode 100644", "--- /dev/null", "+++ b/docs/usage.md"],
  hunks: [
    {
      id: "a1a1a1a1a1a1",
      header: "@@ -0,0 +1,3 @@",
      old_start: 0,
      old_lines: 0,
      new_start: 1,
      new_lines: 3,
      lines: ["+# Using calc", "+", "+add(1, 2)"],
    },
  ],
};

export const DELETED_FILE: FileDiff = {
  path: "legacy.py",
  status: "deleted",
  hunks: [
    {
      id: "d0d0d0d0d0d0",
      header: "@@ -1,2 +0,0 @@",
      old_start: 1,
      old_lines: 2,
      new_start: 0,
      new_lines: 0,
      lines: ["-x = 1", "-y = 2"],
    },
  ],
};

export function diffOf(files: FileDiff[], extra: Partial<DiffResult> = {}): DiffResult {
  return {
    bead_id: "gt-b1",
    branch: "polecat/gt-b1",
    base: "b".repeat(40),
    head: "c0ffee".padEnd(40, "0"),
    merged: false,
    files,
    ...extra,
  };
}
