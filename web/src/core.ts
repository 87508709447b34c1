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

/** Ids of the built-in demos (`public/demos/<id>.json`, not compiled into the core). */
export const BUILTIN_DEMO_IDS = [
  'lift',
  'stack',
  'square',
  'pick_place',
  'conveyor',
  'mug_cleanup',
  'stack_three',
  'hammer_cleanup',
] as const;

export type BuiltinDemos = Record<string, string>;

let demos: Promise<BuiltinDemos> | null = null;

/**
 * Download the built-in demos' and tasks' JSON once (every core instance registers them):
 * demo `id` under its id, task `id` (`public/tasks/<id>.json`) under `task/<id>`.
 */
export function fetchBuiltinDemos(): Promise<BuiltinDemos> {
  demos ??= (async () => {
    const get = async (key: string, path: string, what: string): Promise<readonly [string, string]> => {
      const response = await fetch(new URL(path, document.baseURI));
      if (!response.ok) throw new Error(`could not download the built-in ${what} (${response.status} ${response.statusText})`);
      return [key, await response.text()] as const;
    };
    const texts = await Promise.all([
      ...BUILTIN_DEMO_IDS.map((id) => get(id, `demos/${id}.json`, `demo '${id}'`)),
      ...BUILTIN_DEMO_IDS.map((id) => get(`task/${id}`, `tasks/${id}.json`, `task '${id}'`)),
    ]);
    return Object.fromEntries(texts);
  })();
  return demos;
}

/** Hand the built-in tasks and demos to a core instance (the page's or a worker's). */
export function registerBuiltinDemos(c: Core, texts: BuiltinDemos): void {
  for (const [key, json] of Object.entries(texts)) {
    if (key.startsWith('task/')) c.register_builtin_task(key.slice(5), json);
  }
  for (const [key, json] of Object.entries(texts)) {
    if (!key.startsWith('task/')) c.register_builtin_demo(key, json);
  }
}

let memory: WebAssembly.Memory | null = null;

/** Instantiate the core on the main thread. */
export async function loadCore(): Promise<Core> {
  const [module, texts] = await Promise.all([compileCore(), fetchBuiltinDemos()]);
  const exports = await init({ module_or_path: module });
  memory = exports.memory;
  registerBuiltinDemos(core, texts);
  return core;
}

/** Bytes of the page's wasm linear memory (it only grows; for memory measurements). */
export function coreMemoryBytes(): number {
  return memory?.buffer.byteLength ?? 0;
}
