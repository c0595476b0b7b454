// Comma lists (`a,b,c` in a path, a query parameter, a CLI argument or a setting): the one splitter.
// Entries are trimmed and keep their order; `dropEmpty` drops the empty ones (`a,,b`, a trailing
// comma), otherwise they stay for the caller to refuse by position.

/** The entries of one comma list, or of several (a repeated query parameter) in order. */
export function splitCommaList(input: string | readonly string[], options: { dropEmpty?: boolean } = {}): string[] {
  const parts = (typeof input === 'string' ? [input] : input).flatMap((text) => text.split(','));
  const entries = parts.map((part) => part.trim());
  return options.dropEmpty ? entries.filter((entry) => entry !== '') : entries;
}
