// Renders the OpenAPI document from the route schemas (the source of openapi.yaml).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

const HEADER = '# GENERATED from the route schemas by `npm run openapi`. Do not edit; a test fails when it is stale.\n';

/** Builds a throwaway app (temporary SQLite database) and returns its OpenAPI document as YAML. */
export async function renderOpenApiYaml(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'locus-openapi-'));
  const app = await buildApp(loadConfig({ LOCUS_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), { logger: false, watchApplications: false });
  try {
    await app.ready();
    return HEADER + app.swagger({ yaml: true });
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
