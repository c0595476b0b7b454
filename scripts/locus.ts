// `npm run locus -- <command>`: see src/cli.ts.
import { runCli } from '../src/cli.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
