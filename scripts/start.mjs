// `npm start`: set up what is missing, build the core to wasm and serve the playground.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildWasm, log, root, setup } from './setup.mjs';

try {
  setup();
  buildWasm();
} catch (e) {
  console.error(`\nnpm start failed: ${e.message}`);
  process.exit(1);
}
const port = process.env.PORT || '5173';
log('starting the playground server');
const vite = spawn(
  join(root, 'node_modules', '.bin', 'vite'),
  ['--host', '127.0.0.1', '--port', port, '--strictPort'],
  { stdio: 'inherit', cwd: root },
);
vite.on('exit', (code) => process.exit(code ?? 0));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => vite.kill(sig));
