// JSON written once per cached value: cached users and profiles are frozen and shared by every
// request that reads them, so their documents are written the first time one is sent and reused.

/** `write`, remembered per frozen value; a value that can still change is written every time. */
export function writtenOnce<T extends object>(write: (value: T) => string): (value: T) => string {
  const written = new WeakMap<T, string>();
  return (value) => {
    let json = written.get(value);
    if (json === undefined) {
      json = write(value);
      if (Object.isFrozen(value)) written.set(value, json);
    }
    return json;
  };
}
