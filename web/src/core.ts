// Loading the Rust core: the module is compiled once and shared with every worker.
import init, * as core from '../pkg/dmgen.js';
import wasmUrl from '../pkg/dmgen_bg.wasm?url';

export type Core = typeof core;

let compiled: Promise<WebAssembly.Module> | null = null;

/** Compile the core's wasm module once (streaming when the server sends application/wasm). */
export function compileCore(): Promise<WebAssembly.Module> {
  compiled ??= (async () => {
    const response = await fetch(wasmUrl);
    if (!response.ok) throw new Error(`could not download the core (${response.status} ${response.statusText})`);
    const type = response.headers.get('content-type') ?? '';
    if (type.startsWith('application/wasm') && 'compileStreaming' in WebAssembly) {
      return WebAssembly.compileStreaming(response);
    }
    return WebAssembly.compile(await response.arrayBuffer());
  })();
  return compiled;
}

let memory: WebAssembly.Memory | null = null;

/** Instantiate the core on the main thread. */
export async function loadCore(): Promise<Core> {
  const module = await compileCore();
  const exports = await init({ module_or_path: module });
  memory = exports.memory;
  return core;
}

/** Bytes of the page's wasm linear memory (it only grows; for memory measurements). */
export function coreMemoryBytes(): number {
  return memory?.buffer.byteLength ?? 0;
}
