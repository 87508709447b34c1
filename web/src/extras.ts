// Conversions done by the on-demand extras module (see extras-worker.ts). Nothing of it is
// downloaded until the first conversion.
import type { ExtrasReply, ExtrasRequest } from './extras-worker.ts';

/** Times the extras module has been started (tests check it stays 0 until first use). */
export let extrasStarts = 0;

/**
 * A robomimic dataset as a LeRobot v3.0 dataset in a zip archive whose top folder is `root`
 * (the same bytes as `dmgen convert IN.hdf5 --out ROOT.zip`).
 */
export function lerobotZip(dataset: Blob, root: string): Promise<{ zip: Blob; seconds: number }> {
  extrasStarts++;
  const worker = new Worker(new URL('./extras-worker.ts', import.meta.url), { type: 'module', name: 'dmgen-extras' });
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<ExtrasReply>) => {
      worker.terminate();
      const r = event.data;
      if (r.ok) resolve({ zip: new Blob([r.zip], { type: 'application/zip' }), seconds: r.seconds });
      else reject(new Error(r.message));
    };
    worker.onerror = (event: ErrorEvent) => {
      worker.terminate();
      reject(new Error(event.message || 'the export module could not be loaded'));
    };
    worker.postMessage({ dataset, root } satisfies ExtrasRequest);
  });
}
