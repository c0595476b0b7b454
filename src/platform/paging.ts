// One page of a listing read one row past its limit: the rows to answer, and the last of them when
// more follow (the next page's cursor), else null.
export interface Page<T> {
  items: T[];
  next: T | null;
}

export function pageOf<T>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? (items.at(-1) ?? null) : null };
}
