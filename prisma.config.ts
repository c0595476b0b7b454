// Prisma CLI configuration: the provider, schema and migrations folder follow DATABASE_URL
// (file: → SQLite, postgresql: → PostgreSQL), and the CLI talks through driver adapters so that no
// native engine is ever needed or downloaded.
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { cliAdapterFor } from './scripts/prisma-cli-adapter.ts';

// The schema generates only Kysely types (no Prisma client): tell the CLI its engine type, or it
// reaches for a native query engine it would have to download.
process.env.PRISMA_CLIENT_ENGINE_TYPE ??= 'client';

const databaseUrl = process.env.DATABASE_URL ?? 'file:./data/locus.db';
const provider = databaseUrl.startsWith('file:') ? 'sqlite' : 'postgresql';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: provider === 'sqlite' ? path.join('prisma', 'sqlite', 'schema.prisma') : path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations', provider) },
  async adapter() {
    return cliAdapterFor(databaseUrl);
  },
});
