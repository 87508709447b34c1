// `npm run build`: the deployable static site in dist/.
import { buildSite, buildWasm, log, setup } from './setup.mjs';

try {
  setup();
  buildWasm();
  buildSite();
  log('dist/ is ready: serve it with any static server (npm run serve)');
} catch (e) {
  console.error(`\nbuild failed: ${e.message}`);
  process.exit(1);
}
