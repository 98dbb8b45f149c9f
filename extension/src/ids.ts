// The order of bead and agent ids: hierarchical ids in natural order (gt-x.2 before gt-x.10), everything
// else as plain strings. An id's sort key spells each all-digit dotted segment with its length first, so
// plain string comparison of keys is the natural order; the Beads tree keeps each bead's key, so sorting
// 10,000 rows compares strings only.

const NUMERIC_SEGMENT = /\.(\d+)(?=\.|$)/g;

/** The key that sorts like the id in natural order (`.2` -> `.\x012`, `.10` -> `.\x0210`). */
export function naturalKey(id: string): string {
  if (id.indexOf(".") < 0) return id;
  return id.replace(NUMERIC_SEGMENT, (_, digits: string) => `.${String.fromCharCode(digits.length)}${digits}`);
}

/** Negative, zero or positive, like a sort comparator. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Ids in natural order (for short lists; long ones keep their keys). */
export function compareIds(a: string, b: string): number {
  return a === b ? 0 : compareKeys(naturalKey(a), naturalKey(b));
}
