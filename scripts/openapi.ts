// `npm run openapi`: regenerates openapi.yaml from the route schemas.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderOpenApiYaml } from '../src/openapi.ts';
import { projectRoot } from '../src/platform/paths.ts';

writeFileSync(join(projectRoot, 'openapi.yaml'), await renderOpenApiYaml());
