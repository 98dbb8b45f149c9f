// The order of bead and agent ids: hierarchical ids in natural order (gt-x.2 before gt-x.10), everything
// else as plain strings. An id's sort key spells each all-digit dotted segment with its length first, so
// plain string comparison of keys is the natural order; the Beads tree keeps each bead's key, so sorting
// 10,000 rows compares strings only.

const isDigit = (c: number) => c >= 48 && c <= 57;

/** The key that sorts like the id in natural order (`.2` -> `.\x012`, `.10` -> `.\x0210`). A scan, not a
 * regular expression: it runs once per bead of a 10,000-bead list. */
export function naturalKey(id: string): string {
  let dot = id.indexOf(".");
  if (dot < 0) return id;
  let out = "";
  let from = 0;
  while (dot >= 0) {
    const next = id.indexOf(".", dot + 1);
    const stop = next < 0 ? id.length : next;
    let end = dot + 1;
    while (end < stop && isDigit(id.charCodeAt(end))) end++;
    if (end === stop && end > dot + 1) {
      out += id.slice(from, dot + 1) + String.fromCharCode(end - dot - 1);
      from = dot + 1;
    }
    dot = next;
  }
  return out + id.slice(from);
}

/** Negative, zero or positive, like a sort comparator. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Ids in natural order (for short lists; long ones keep their keys). */
export function compareIds(a: string, b: string): number {
  return a === b ? 0 : compareKeys(naturalKey(a), naturalKey(b));
}
