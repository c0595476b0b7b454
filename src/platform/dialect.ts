// Everything that differs between SQLite and PostgreSQL, in one place (each has a test on both
// databases in test/platform/dialect.test.ts). Stores write one query and ask this module where
// the two disagree:
// - times: SQLite stores ISO-8601 text (`…T…+00:00`, the format Prisma's adapter wrote, so
//   databases created by earlier releases read the same), PostgreSQL timestamptz (a Date);
// - booleans: SQLite 0/1, PostgreSQL boolean;
// - row locks: `FOR UPDATE` on PostgreSQL; on SQLite every write transaction already holds the
//   database's write lock from its first statement (BEGIN IMMEDIATE, src/platform/db.ts);
// - a JSON array parameter as a table (batched writes): json_array_elements / json_each;
// - substring search (case-sensitive, no wildcards): instr() / strpos();
// - unique violations: SQLITE_CONSTRAINT_* with "T.a, T.b" in the message / 23505 with the key
//   columns in the detail.
// What does not differ, and needs nothing here: `INSERT … ON CONFLICT … DO UPDATE` (upserts),
// `RETURNING`, `LIMIT`, quoted identifiers; 64-bit integers come back as numbers on both (the
// PostgreSQL pool parses int8, see db.ts); batch statements are db.batch.
import { sql, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import type { DatabaseProvider } from '../config.ts';

export interface SqlDialect {
  readonly provider: DatabaseProvider;
  /** A time as this database stores it. */
  time(date: Date): Date | string;
  /** A boolean as this database stores it. */
  bool(value: boolean): boolean | number;
  /** Locks the selected rows to the end of the transaction. */
  forUpdate<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O>;
  /**
   * A JSON array of objects (one bound parameter) as a derived table: `ord` (the 0-based
   * position) and each of `fields` as text (numbers stay numbers on SQLite; cast where it matters).
   */
  jsonRows(json: string, fields: readonly string[]): RawBuilder<unknown>;
  /** True when the text column contains `text` exactly (case-sensitive; `%` and `_` are plain characters). */
  contains(column: string, text: string): RawBuilder<boolean>;
}

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

function checkedFields(fields: readonly string[]): readonly string[] {
  // Field names become SQL identifiers and JSON paths: only plain names are allowed.
  for (const field of fields) if (!FIELD_NAME.test(field)) throw new Error(`jsonRows: bad field name ${field}`);
  return fields;
}

const sqlite: SqlDialect = {
  provider: 'sqlite',
  time: (date) => date.toISOString().replace('Z', '+00:00'),
  bool: (value) => (value ? 1 : 0),
  forUpdate: (query) => query,
  jsonRows(json, fields) {
    const columns = checkedFields(fields).map((field) => sql`json_extract(j.value, ${sql.lit(`$.${field}`)}) AS ${sql.id(field)}`);
    return sql`(SELECT j.key AS "ord", ${sql.join(columns)} FROM json_each(${json}) j)`;
  },
  contains: (column, text) => sql<boolean>`instr(${sql.ref(column)}, ${text}) > 0`,
};

const postgresql: SqlDialect = {
  provider: 'postgresql',
  time: (date) => date,
  bool: (value) => value,
  forUpdate: (query) => query.forUpdate(),
  jsonRows(json, fields) {
    const columns = checkedFields(fields).map((field) => sql`j.value->>${sql.lit(field)} AS ${sql.id(field)}`);
    return sql`(SELECT j.ord - 1 AS "ord", ${sql.join(columns)} FROM json_array_elements(CAST(${json} AS json)) WITH ORDINALITY AS j(value, ord))`;
  },
  contains: (column, text) => sql<boolean>`strpos(${sql.ref(column)}, ${text}) > 0`,
};

export function sqlDialect(provider: DatabaseProvider): SqlDialect {
  return provider === 'postgresql' ? postgresql : sqlite;
}

/** A stored time (ISO text from SQLite, a Date from PostgreSQL) as a Date. */
export function readTime(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

export function readOptionalTime(value: Date | string | null): Date | null {
  return value === null ? null : readTime(value);
}

/** A stored boolean (0/1 from SQLite) as a boolean. */
export function readBool(value: boolean | number): boolean {
  return value === true || value === 1;
}

/**
 * The columns of the unique index (or primary key) a write violated, bare; null for any other
 * error. SQLite: `UNIQUE constraint failed: UserLocator.applicationId, UserLocator.locator`;
 * PostgreSQL: code 23505, detail `Key ("applicationId", locator)=(…) already exists.`
 */
export function uniqueViolationFields(error: unknown): string[] | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, message, detail } = error as { code?: unknown; message?: unknown; detail?: unknown };
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const list = typeof message === 'string' ? message.split('constraint failed: ')[1] : undefined;
    return list === undefined ? [] : list.split(', ').map((column) => column.split('.').pop() ?? column);
  }
  if (code === '23505') {
    const list = typeof detail === 'string' ? /^Key \((.*?)\)=\(/.exec(detail)?.[1] : undefined;
    return list === undefined ? [] : list.split(', ').map((column) => column.replace(/^"|"$/g, ''));
  }
  return null;
}
