// Per-application settings (docs/api.md): their types, defaults and validation. Only values that differ
// from the defaults are stored, so a default changed in a later release reaches every application.
import { splitCommaList } from '../../platform/lists.ts';

export interface ApplicationSettings {
  /** Seconds a user token lives when issued without a ttl (docs/tokens.md). */
  tokenDefaultTtl: number;
  /** Upper bound in seconds for issuing and extending user tokens. */
  tokenMaxTtl: number;
  /** Active tokens a user may hold; 0 = unlimited (docs/tokens.md). */
  maxActiveTokensPerUser: number;
  /** Presence types that count as online for last seen (docs/presence.md). */
  onlineTypes: string[];
  /** How long the event log keeps events, in seconds (docs/events.md). */
  eventRetentionSeconds: number;
  /** Origins that logout links may redirect to (docs/tokens.md). */
  allowedReturnOrigins: string[];
  /** Whether users may log in with a password held by Locus (docs/tokens.md). */
  passwordLogin: boolean;
  /** Open event streams one user may hold (docs/events.md). */
  maxStreamsPerUser: number;
  /** Open application streams (`GET /v1/events`) the application may hold. */
  maxStreamsPerApp: number;
  /** Signed requests per second for the application; 0: unlimited (docs/api.md). */
  rateLimitApp: number;
  /** Token-authenticated requests per second per user (bursts of twice that); 0: unlimited. */
  rateLimitUser: number;
  /** Requests per second per client address without (valid) credentials; 0: unlimited. */
  rateLimitAnonymous: number;
  /** Password logins and device-link starts per minute per client address; 0: unlimited. */
  rateLimitLogin: number;
  /** Browser origins (`https://app.example.com`) allowed to call the API with CORS (docs/api.md). */
  corsOrigins: string[];
}

export type SettingName = keyof ApplicationSettings;

const DAY = 86_400;

export const DEFAULT_SETTINGS: Readonly<ApplicationSettings> = Object.freeze({
  tokenDefaultTtl: 30 * DAY,
  tokenMaxTtl: 365 * DAY,
  maxActiveTokensPerUser: 0,
  onlineTypes: ['mitter.up.Online'],
  eventRetentionSeconds: DAY,
  allowedReturnOrigins: [],
  // On since 2026-12-03; applications created before then keep it off (migration 20261203120000).
  passwordLogin: true,
  maxStreamsPerUser: 5,
  maxStreamsPerApp: 200,
  rateLimitApp: 2_000,
  rateLimitUser: 50,
  rateLimitAnonymous: 20,
  rateLimitLogin: 10,
  corsOrigins: [],
});

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

function integer(min: number, max: number) {
  return (text: string): Parsed<number> =>
    /^\d{1,12}$/.test(text) && Number(text) >= min && Number(text) <= max
      ? { ok: true, value: Number(text) }
      : { ok: false, problem: `must be an integer from ${min} to ${max}` };
}

function list(item: (text: string) => string | null, { min }: { min: number }) {
  return (text: string): Parsed<string[]> => {
    const items = text === '' ? [] : splitCommaList(text);
    if (items.length < min) return { ok: false, problem: `needs at least ${min} comma-separated value(s)` };
    if (items.length > 100) return { ok: false, problem: 'takes at most 100 values' };
    for (const value of items) {
      const normalised = item(value);
      if (normalised === null) return { ok: false, problem: `has an invalid value "${value}"` };
    }
    return { ok: true, value: [...new Set(items.map((value) => item(value) as string))] };
  };
}

// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const presenceType = (text: string): string | null => (text.length >= 1 && text.length <= 128 && !/[\u0000-\u001f\u007f]/.test(text) ? text : null);

function origin(text: string): string | null {
  try {
    const url = new URL(text);
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== text.replace(/\/$/, '')) return null;
    return url.origin;
  } catch {
    return null;
  }
}

function boolean(text: string): Parsed<boolean> {
  const lower = text.toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(lower)) return { ok: true, value: true };
  if (['false', 'off', 'no', '0'].includes(lower)) return { ok: true, value: false };
  return { ok: false, problem: 'must be true or false' };
}

const PARSERS: { [K in SettingName]: (text: string) => Parsed<ApplicationSettings[K]> } = {
  tokenDefaultTtl: integer(60, 10 * 365 * DAY),
  tokenMaxTtl: integer(60, 10 * 365 * DAY),
  maxActiveTokensPerUser: integer(0, 10_000),
  onlineTypes: list(presenceType, { min: 1 }),
  eventRetentionSeconds: integer(60, 30 * DAY),
  allowedReturnOrigins: list(origin, { min: 0 }),
  passwordLogin: boolean,
  maxStreamsPerUser: integer(1, 100),
  maxStreamsPerApp: integer(1, 10_000),
  rateLimitApp: integer(0, 1_000_000),
  rateLimitUser: integer(0, 100_000),
  rateLimitAnonymous: integer(0, 100_000),
  rateLimitLogin: integer(0, 100_000),
  corsOrigins: list(origin, { min: 0 }),
};

export const SETTING_NAMES = Object.keys(PARSERS) as SettingName[];

function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(PARSERS, name);
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** The effective settings: stored overrides on top of the defaults. Unknown stored keys are ignored. */
export function resolveSettings(storedJson: string): ApplicationSettings {
  let stored: unknown;
  try {
    stored = JSON.parse(storedJson);
  } catch {
    stored = {};
  }
  const settings: ApplicationSettings = structuredClone(DEFAULT_SETTINGS);
  if (typeof stored === 'object' && stored !== null) {
    for (const [name, value] of Object.entries(stored)) {
      if (isSettingName(name)) (settings as unknown as Record<string, unknown>)[name] = value;
    }
  }
  return settings;
}

/** The overrides worth storing: those that differ from the defaults. */
export function storedOverrides(settings: ApplicationSettings): string {
  const overrides: Partial<Record<SettingName, unknown>> = {};
  for (const name of SETTING_NAMES) {
    if (JSON.stringify(settings[name]) !== JSON.stringify(DEFAULT_SETTINGS[name])) overrides[name] = settings[name];
  }
  return JSON.stringify(overrides);
}

/**
 * Applies `name=value` assignments (as typed on the CLI). `name=default` restores the default.
 * All assignments are checked before any is applied; every problem is reported at once.
 */
export function applyAssignments(current: ApplicationSettings, assignments: string[]): ApplicationSettings {
  const next = structuredClone(current);
  const problems: string[] = [];
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    const name = eq > 0 ? assignment.slice(0, eq).trim() : '';
    const text = eq > 0 ? assignment.slice(eq + 1).trim() : '';
    if (eq <= 0) {
      problems.push(`"${assignment}" is not name=value`);
    } else if (!isSettingName(name)) {
      problems.push(`unknown setting "${name}" (known: ${SETTING_NAMES.join(', ')})`);
    } else if (text === 'default') {
      (next as unknown as Record<string, unknown>)[name] = structuredClone(DEFAULT_SETTINGS[name]);
    } else {
      const parsed = PARSERS[name](text);
      if (parsed.ok) (next as unknown as Record<string, unknown>)[name] = parsed.value;
      else problems.push(`${name} ${parsed.problem}`);
    }
  }
  if (problems.length === 0 && next.tokenDefaultTtl > next.tokenMaxTtl) {
    problems.push(`tokenDefaultTtl (${next.tokenDefaultTtl}) must not exceed tokenMaxTtl (${next.tokenMaxTtl})`);
  }
  if (problems.length > 0) throw new SettingsError(problems.join('; '));
  return next;
}
