// `npm run bench -- <name>`: runs one benchmark. Benchmarks are scripts, never timed tests.
import { benchSigned } from './signed.ts';
import { benchUsers } from './users.ts';
import { benchProfiles } from './profiles.ts';
import { benchTokens } from './tokens.ts';
import { benchPresence } from './presence.ts';
import { benchFanout } from './fanout.ts';
import { benchScale } from './scale.ts';
import { benchDatapath } from './datapath.ts';
import { benchSocial } from './social.ts';
import { benchRateLimits } from './ratelimits.ts';

const benches: Record<string, () => Promise<void>> = {
  signed: benchSigned,
  users: benchUsers,
  profiles: benchProfiles,
  tokens: benchTokens,
  presence: benchPresence,
  fanout: benchFanout,
  scale: benchScale,
  datapath: benchDatapath,
  social: benchSocial,
  ratelimits: benchRateLimits,
};

const name = process.argv[2];
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(`Usage: npm run bench -- <${Object.keys(benches).join('|')}>   (BENCH_SECONDS=10 per run)`);
  process.exitCode = 2;
} else {
  await bench();
}
