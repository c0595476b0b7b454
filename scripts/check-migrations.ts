// `npm run db:check`: proves each provider's migration history produces exactly its schema
// (`prisma migrate diff --from-migrations … --to-schema-datamodel … --exit-code`), and that the
// generated SQLite schema is current. Needs the PostgreSQL server of LOCUS_TEST_PG_URL for the
// PostgreSQL check (the shadow database is created and emptied by scripts/prisma-cli-adapter.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/platform/paths.ts';
import { sourceSchemaPath, sqliteSchemaPath, toSqliteSchema } from './generate-sqlite-schema.ts';

let failed = false;

if (readFileSync(sqliteSchemaPath, 'utf8') !== toSqliteSchema(readFileSync(sourceSchemaPath, 'utf8'))) {
  console.error('prisma/sqlite/schema.prisma is stale: run `npm run prisma:generate` and commit it');
  failed = true;
}

const scratch = mkdtempSync(join(tmpdir(), 'locus-dbcheck-'));
const checks = [
  { provider: 'sqlite', url: `file:${join(scratch, 'check.db')}`, schema: 'prisma/sqlite/schema.prisma' },
  { provider: 'postgresql', url: process.env.LOCUS_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test', schema: 'prisma/schema.prisma' },
];
for (const check of checks) {
  const result = spawnSync(
    join(projectRoot, 'node_modules', '.bin', 'prisma'),
    ['migrate', 'diff', '--from-migrations', `prisma/migrations/${check.provider}`, '--to-schema-datamodel', check.schema, '--exit-code'],
    { cwd: projectRoot, env: { ...process.env, DATABASE_URL: check.url, CHECKPOINT_DISABLE: '1' }, encoding: 'utf8' },
  );
  if (result.status === 0) {
    console.log(`${check.provider}: migrations match the schema`);
  } else {
    failed = true;
    console.error(`${check.provider}: migrations and schema differ (exit ${result.status})\n${result.stdout}${result.stderr}`);
    if (result.status === 2) {
      console.error(
        `Author the next migration: DATABASE_URL=${check.url} npx prisma migrate diff --from-migrations prisma/migrations/${check.provider} --to-schema-datamodel ${check.schema} --script`,
      );
    }
  }
}
rmSync(scratch, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
