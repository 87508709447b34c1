// A pool worker: holds one instance of the compiled core for its whole life and
// runs generation attempts by index for the page.
import init, * as core from '../pkg/dmgen.js';
import type { FromWorker, ToWorker } from './protocol.ts';

const scope = self as unknown as Worker;
const post = (msg: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(msg, transfer);

globalThis.__dmgenOnPanic = (message: string) => post({ kind: 'panic', message });

let ready = false;
let generator: core.Generator | null = null;
let generatorJob = -1;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function handle(msg: ToWorker): void {
  switch (msg.kind) {
    case 'init':
      return; // handled below (async)
    case 'ping':
      if (!ready) throw new Error('worker pinged before the core was loaded');
      post({ kind: 'pong', id: msg.id, version: core.version() });
      return;
    case 'prepare':
      generator?.free();
      generator = null;
      generatorJob = msg.job.jobId;
      try {
        generator = new core.Generator(msg.job.config, msg.job.demo ?? new Uint8Array(0), msg.job.demoName, msg.job.demoJson ?? undefined);
        post({ kind: 'prepared', jobId: msg.job.jobId });
      } catch (e) {
        if (!core.has_panicked()) post({ kind: 'job-error', jobId: msg.job.jobId, message: message(e) });
      }
      return;
    case 'attempt': {
      if (!generator || generatorJob !== msg.jobId) return; // its job failed to prepare
      let bytes: Uint8Array;
      try {
        bytes = generator.attempt(msg.index);
      } catch (e) {
        // An attempt the core refuses fails the whole job (the same error would repeat).
        if (!core.has_panicked()) post({ kind: 'job-error', jobId: msg.jobId, message: `attempt ${msg.index}: ${message(e)}` });
        return;
      }
      const buffer = bytes.buffer as ArrayBuffer;
      post(
        {
          kind: 'attempt-done',
          jobId: msg.jobId,
          index: msg.index,
          success: generator.last_success(),
          failure: generator.last_failure(),
          bytes: buffer,
        },
        [buffer],
      );
      return;
    }
    case 'crash':
      core.debug_panic(msg.reason);
      return;
  }
}

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  try {
    if (msg.kind === 'init') {
      await init({ module_or_path: msg.module });
      for (const [key, json] of Object.entries(msg.demos)) if (key.startsWith('task/')) core.register_builtin_task(key.slice(5), json);
      for (const [key, json] of Object.entries(msg.demos)) if (!key.startsWith('task/')) core.register_builtin_demo(key, json);
      ready = true;
      post({ kind: 'ready', version: core.version() });
      return;
    }
    handle(msg);
  } catch (e) {
    // After a panic the hook has already told the page; the pool replaces this worker.
    if (!ready || !core.has_panicked()) post({ kind: 'error', message: message(e) });
  }
};
