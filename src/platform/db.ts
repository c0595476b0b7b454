// The runtime data path: Kysely over better-sqlite3 (file: URLs) or node-postgres (postgresql: URLs),
// typed by the table types Prisma generates from prisma/schema.prisma (src/generated/db.ts).
// Prisma itself is never loaded at run time: it owns the schema and the migrations only.
//
// Where the time goes (see docs/benchmarks.md): a Kysely query builder call costs ~10 µs before the
// driver runs, a better-sqlite3 `prepare` ~8 µs, a cached statement ~3 µs. So statements are cached
// by SQL text on both databases (named prepared statements on PostgreSQL), and the hottest reads
// are compiled once (`prepared`) and go straight to the driver.
import Database from 'better-sqlite3';
import pg from 'pg';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, SqliteDriver, type Compilable, type DatabaseConnection, type Transaction } from 'kysely';
import type { Config, DatabaseProvider } from '../config.ts';
import type { DB } from '../generated/db.ts';
import { sqlDialect, type SqlDialect } from './dialect.ts';

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

/**
 * A read compiled once: `build` receives placeholder arguments and returns the query; each call
 * then substitutes the real arguments into the compiled parameters (no builder, no compiler).
 * Every argument must appear in the query as a plain bound value.
 */
export function prepared<Args extends Array<string | number>, Row>(db: Db, build: (query: Queries, ...args: Args) => Compilable<Row>, arity: Args['length']): (...args: Args) => Promise<Row[]> {
  const placeholders = Array.from({ length: arity }, (_, i) => `\u0000locus-argument-${i}\u0000`) as Args;
  const compiled = build(db.query, ...placeholders).compile();
  const slots = compiled.parameters.map((parameter) => placeholders.indexOf(parameter as never));
  if (placeholders.some((_, i) => !slots.includes(i))) throw new Error('prepared: every argument must be a bound parameter of the query');
  return (...args: Args) =>
    db.rows<Row>(CompiledQuery.raw(compiled.sql, slots.map((slot, i) => (slot === -1 ? compiled.parameters[i] : args[slot]))));
}

const compiled = (query: CompiledQuery | Compilable): CompiledQuery => ('compile' in query ? query.compile() : query);

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
    async rows<Row>(statement: CompiledQuery | Compilable) {
      const { sql, parameters } = compiled(statement);
      return reader.prepare(sql).all(parameters) as Row[];
    },
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
    if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

function createPostgresDb(url: string): Db {
  // A connection attempt gives up after 5 s: an unreachable database is a 503, never a hang.
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000, Client: PreparingClient, types: pgTypes as never });
  // An idle connection that drops (a database restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const query = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    provider: 'postgresql',
    dialect: sqlDialect('postgresql'),
    query,
    async rows<Row>(statement: CompiledQuery | Compilable) {
      const { sql, parameters } = compiled(statement);
      return (await pool.query(sql, parameters as unknown[])).rows as Row[];
    },
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
