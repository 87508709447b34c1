// The on-demand extras module (web/pkg-extras: the LeRobot export) in a worker of its own,
// so converting a large dataset neither freezes the page nor stays in its memory: the
// worker is ended when the conversion is done.
import init, { lerobot_zip } from '../pkg-extras/dmgen_extras.js';
import wasmUrl from '../pkg-extras/dmgen_extras_bg.wasm?url';

export interface ExtrasRequest {
  dataset: Blob;
  root: string;
}

export type ExtrasReply = { ok: true; zip: ArrayBuffer; seconds: number } | { ok: false; message: string };

const scope = self as unknown as Worker;

self.onmessage = async (event: MessageEvent<ExtrasRequest>) => {
  try {
    await init({ module_or_path: wasmUrl });
    const t0 = performance.now();
    const bytes = new Uint8Array(await event.data.dataset.arrayBuffer());
    const zip = lerobot_zip(bytes, event.data.root);
    const buffer = zip.buffer as ArrayBuffer;
    scope.postMessage({ ok: true, zip: buffer, seconds: (performance.now() - t0) / 1000 } satisfies ExtrasReply, [buffer]);
  } catch (e) {
    scope.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) } satisfies ExtrasReply);
  }
};
