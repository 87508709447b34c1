// A pool worker: holds one instance of the compiled core for its whole life.
import init, * as core from '../pkg/dmgen.js';
import type { FromWorker, ToWorker } from './protocol.ts';

const post = (msg: FromWorker): void => (self as unknown as Worker).postMessage(msg);

globalThis.__dmgenOnPanic = (message: string) => post({ kind: 'panic', message });

let ready = false;

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  try {
    switch (msg.kind) {
      case 'init':
        await init({ module_or_path: msg.module });
        ready = true;
        post({ kind: 'ready', version: core.version() });
        break;
      case 'ping':
        if (!ready) throw new Error('worker pinged before the core was loaded');
        post({ kind: 'pong', id: msg.id, version: core.version() });
        break;
    }
  } catch (e) {
    post({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
