// Text that people read as something it is not: bidirectional controls (U+202A–U+202E, U+2066–U+2069)
// reorder what follows them ("txt.exe" shown as "exe.txt"), zero-width characters (U+200B–U+200D,
// U+2060) and the byte-order mark (U+FEFF) make two different strings look the same. Identifiers,
// locators, screen names and presence types refuse them (docs/decisions.md).
const DECEPTIVE = /[\u202A-\u202E\u2066-\u2069\u200B-\u200D\u2060\uFEFF]/u;

/** Whether `text` holds a bidirectional control, a zero-width character or a byte-order mark. */
export function hasDeceptiveCharacters(text: string): boolean {
  return DECEPTIVE.test(text);
}
