// The runtime data path: Kysely over better-sqlite3 (file: URLs) or node-postgres (postgresql: URLs),
// typed by the table types Prisma generates from prisma/schema.prisma (src/generated/db.ts).
// Prisma itself is never loaded at run time: it owns the schema and the migrations only.
//
// Where the time goes (docs/benchmarks.md, datapath): building and compiling a Kysely query costs
// more than SQLite's own work for a lookup by key (~30 µs against ~10 µs), and preparing a
// statement on every call most of the rest. So statements are cached by SQL text on both
// databases (named prepared statements on PostgreSQL), and the hottest reads are compiled once
// (`prepared`) and go straight to the driver.
import Database from 'better-sqlite3';
import pg from 'pg';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver, type Compilable, type DatabaseConnection, type Transaction } from 'kysely';
import type { Config, DatabaseProvider } from '../config.ts';
import type { DB } from '../generated/db.ts';
import { sqlDialect, type SqlDialect } from './dialect.ts';
import { preparePrivateDatabaseFile } from './paths.ts';

export type { DatabaseProvider } from '../config.ts';
/** A query builder bound to one transaction (or, where a store accepts either, to the database). */
export type DbTransaction = Transaction<DB>;
export type Queries = Kysely<DB>;

/** Distinct statements kept prepared per connection; past it, statements are prepared per call. */
const MAX_CACHED_STATEMENTS = 1_000;

export interface Db {
  readonly provider: DatabaseProvider;
  readonly dialect: SqlDialect;
  /** Queries outside a transaction. */
  readonly query: Queries;
  /**
   * Rows of one read statement, through the driver's prepared statement. Sees committed data only
   * (on SQLite a second, read-only connection: a read never waits behind an open transaction).
   */
  rows<Row>(query: CompiledQuery | Compilable): Promise<Row[]>;
  /** The same for SQL text compiled earlier (by `prepared`) and its bound parameters. */
  compiledRows<Row>(sql: string, parameters: readonly unknown[]): Promise<Row[]>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: DbTransaction) => Promise<T>): Promise<T>;
  /**
   * Runs plain statements, in order, in one transaction of their own: no round trip between them
   * on SQLite (one synchronous driver transaction), one connection held on PostgreSQL.
   */
  batch(queries: ReadonlyArray<CompiledQuery | Compilable>): Promise<void>;
  /** Throws when the database cannot answer (readiness checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** An argument of a prepared read: a value, a stored time, or a list (for `IN`). */
export type PreparedArgument = string | number | Date | readonly string[];

/** Compiled shapes kept per prepared read (one per combination of list lengths). */
const MAX_PREPARED_SHAPES = 128;

/**
 * A read compiled once per shape: `build` receives placeholder arguments and returns the query;
 * each call substitutes the real arguments into the compiled parameters (no builder, no compiler:
 * they cost more than SQLite's own work for a lookup by key). A list argument compiles once per
 * length. Every argument must appear in the query as bound values only.
 */
export function prepared<Args extends PreparedArgument[], Row>(
  db: Db,
  build: (query: Queries, ...args: Args) => Compilable<Row>,
): (...args: Args) => Promise<Row[]> {
  const shapes = new Map<string, { sql: string; slots: Array<[number, number] | { constant: unknown }> }>();
  const compileShape = (args: Args) => {
    const marks = new Map<string, [number, number]>();
    const placeholders = args.map((arg, i) => {
      if (!Array.isArray(arg)) {
        const mark = `\u0000locus-argument-${i}\u0000`;
        marks.set(mark, [i, -1]);
        return mark;
      }
      return arg.map((_, k) => {
        const mark = `\u0000locus-argument-${i}-${k}\u0000`;
        marks.set(mark, [i, k]);
        return mark;
      });
    }) as Args;
    const compiledQuery = build(db.query, ...placeholders).compile();
    const slots = compiledQuery.parameters.map((parameter): [number, number] | { constant: unknown } => {
      const mark = typeof parameter === 'string' ? marks.get(parameter) : undefined;
      return mark ?? { constant: parameter };
    });
    const used = new Set(slots.filter((slot): slot is [number, number] => Array.isArray(slot)).map((slot) => slot.join(':')));
    if (used.size !== marks.size) throw new Error('prepared: every argument must be a bound parameter of the query');
    return { sql: compiledQuery.sql, slots };
  };
  return async (...args: Args) => {
    const key = args.map((arg) => (Array.isArray(arg) ? arg.length : '')).join(',');
    let shape = shapes.get(key);
    if (shape === undefined) {
      shape = compileShape(args);
      if (shapes.size < MAX_PREPARED_SHAPES) shapes.set(key, shape);
    }
    const parameters = shape.slots.map((slot) => {
      if (!Array.isArray(slot)) return slot.constant;
      const [i, k] = slot;
      const arg = args[i] as PreparedArgument;
      return k === -1 ? (arg instanceof Date ? db.dialect.time(arg) : arg) : (arg as readonly string[])[k];
    });
    return db.compiledRows<Row>(shape.sql, parameters);
  };
}

const compiled = (query: CompiledQuery | Compilable): CompiledQuery => ('compile' in query ? query.compile() : query);

/** `rows` and `compiledRows` from the driver's one way of running a read statement. */
function reads(run: Db['compiledRows']): Pick<Db, 'rows' | 'compiledRows'> {
  return {
    rows: (statement) => {
      const { sql, parameters } = compiled(statement);
      return run(sql, parameters);
    },
    compiledRows: run,
  };
}

/** A better-sqlite3 connection whose statements are prepared once per SQL text. */
class StatementCache {
  readonly #statements = new Map<string, Database.Statement>();
  constructor(readonly connection: Database.Database) {}

  prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.connection.prepare(sql);
      if (this.#statements.size < MAX_CACHED_STATEMENTS) this.#statements.set(sql, statement);
    }
    return statement;
  }

  close(): void {
    this.#statements.clear();
    this.connection.close();
  }
}

/** Writes take SQLite's write lock when they begin (IMMEDIATE): a transaction that reads, then writes, never fails to upgrade. */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly database: StatementCache) {
    super({ database });
  }
  override createDriver() {
    return new ImmediateSqliteDriver({ database: this.database });
  }
}

function openSqlite(path: string, options: { readonly: boolean }): Database.Database {
  if (!options.readonly) preparePrivateDatabaseFile(path);
  const connection = new Database(path, { readonly: options.readonly, timeout: 5_000 });
  if (!options.readonly) {
    // WAL lets readers run beside the writer and roughly triples write throughput; NORMAL sync is
    // durable across process crashes (an OS crash may lose the last transactions, never corrupt).
    connection.pragma('journal_mode = WAL');
    connection.pragma('synchronous = NORMAL');
    connection.pragma('foreign_keys = ON');
  }
  return connection;
}

function createSqliteDb(path: string): Db {
  const writer = new StatementCache(openSqlite(path, { readonly: false }));
  const reader = new StatementCache(openSqlite(path, { readonly: true }));
  const query = new Kysely<DB>({ dialect: new ImmediateSqliteDialect(writer) });
  return {
    provider: 'sqlite',
    dialect: sqlDialect('sqlite'),
    query,
    ...reads(async <Row>(sql: string, parameters: readonly unknown[]) => reader.prepare(sql).all(parameters) as Row[]),
    transaction: (work) => query.transaction().execute(work),
    async batch(queries) {
      const statements = queries.map(compiled);
      // Holding Kysely's connection means no transaction of its own is open on the writer.
      await query.connection().execute(async () => {
        writer.connection
          .transaction(() => {
            for (const { sql, parameters } of statements) writer.prepare(sql).run(parameters);
          })
          .immediate();
      });
    },
    async ping() {
      reader.prepare('SELECT 1').get();
    },
    async close() {
      await query.destroy();
      reader.close();
    },
  };
}

/** Statement names by SQL text, shared by every connection (each prepares a name on first use). */
const statementNames = new Map<string, string>();

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_CACHED_STATEMENTS) {
    name = `locus_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * A pg client whose parameterised queries are named prepared statements: PostgreSQL parses and
 * plans each distinct statement once per connection instead of on every call.
 */
class PreparingClient extends pg.Client {
  override query(config: unknown, values?: unknown, callback?: unknown): never {
    if (typeof config === 'string' && Array.isArray(values) && values.length > 0) {
      const name = statementName(config);
      if (name !== undefined) return (super.query as (...args: unknown[]) => never)({ name, text: config, values }, callback);
    }
    return (super.query as (...args: unknown[]) => never)(config, values, callback);
  }
}

/** 64-bit integers (sequence numbers, counters, COUNT(*)) as numbers, as SQLite returns them. */
const pgTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === (pg.types.builtins.INT8 as number)) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text') as (value: string) => unknown;
  },
};

function createPostgresDb(url: string): Db {
  // A connection attempt gives up after 5 s: an unreachable database is a 503, never a hang.
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000, Client: PreparingClient, types: pgTypes });
  // An idle connection that drops (a database restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const query = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    provider: 'postgresql',
    dialect: sqlDialect('postgresql'),
    query,
    ...reads(async <Row>(sql: string, parameters: readonly unknown[]) => (await pool.query(sql, parameters as unknown[])).rows as Row[]),
    transaction: (work) => query.transaction().execute(work),
    async batch(queries) {
      await query.transaction().execute(async (tx) => {
        for (const statement of queries) await tx.executeQuery(compiled(statement));
      });
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    close: () => query.destroy(),
  };
}

export function createDb(config: Pick<Config, 'databaseProvider' | 'databaseUrl' | 'sqlitePath'>): Db {
  if (config.databaseProvider === 'postgresql') return createPostgresDb(config.databaseUrl);
  if (!config.sqlitePath) throw new Error('no SQLite path configured');
  return createSqliteDb(config.sqlitePath);
}
