// Comma lists (`a,b,c` in a path, a query parameter, a CLI argument or a setting): the one splitter.
// Entries are trimmed and keep their order; `dropEmpty` drops the empty ones (`a,,b`, a trailing
// comma), otherwise they stay for the caller to refuse by position.

/** The entries of one comma list, or of several (a repeated query parameter) in order. */
export function splitCommaList(input: string | readonly string[], options: { dropEmpty?: boolean } = {}): string[] {
  const entries: string[] = [];
  // One pass and no closure (the runner names each closure it creates: a cost on every request).
  const texts = typeof input === 'string' ? [input] : input;
  for (const text of texts) {
    for (const part of text.split(',')) {
      const entry = part.trim();
      if (entry !== '' || options.dropEmpty !== true) entries.push(entry);
    }
  }
  return entries;
}
