// For properties over parsers: what a call returned, or the 4xx ApiError it threw. Anything else
// it throws (a TypeError, a 500) is rethrown, so the property fails.
import { ApiError } from '../../src/errors.ts';

export function outcome<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: ApiError } {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    if (!(error instanceof ApiError) || error.statusCode < 400 || error.statusCode > 499) throw error;
    return { ok: false, error };
  }
}
