// Comma lists (`a,b,c` in a path, a query parameter, a CLI argument or a setting): the one splitter.
// Entries are trimmed and keep their order; `dropEmpty` drops the empty ones (`a,,b`, a trailing
// comma), otherwise they stay for the caller to refuse by position.

/** The entries of one comma list, or of several (a repeated query parameter) in order. */
export function splitCommaList(input: string | readonly string[], options: { dropEmpty?: boolean } = {}): string[] {
  const entries: string[] = [];
  // One pass, no intermediate arrays: lookups by locator split a list on every request.
  const add = (text: string) => {
    for (const part of text.split(',')) {
      const entry = part.trim();
      if (entry !== '' || options.dropEmpty !== true) entries.push(entry);
    }
  };
  if (typeof input === 'string') add(input);
  else for (const text of input) add(text);
  return entries;
}
