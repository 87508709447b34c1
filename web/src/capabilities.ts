// Feature detection for what the playground needs from the browser.

export function hasWebGL2(): boolean {
  try {
    const c = document.createElement('canvas');
    return !!c.getContext('webgl2');
  } catch {
    return false;
  }
}

/** Module workers: detected by whether the Worker constructor reads the `type` option. */
export function hasModuleWorkers(): boolean {
  if (typeof Worker === 'undefined') return false;
  let read = false;
  const options = {
    get type(): WorkerType {
      read = true;
      return 'module';
    },
  };
  const url = URL.createObjectURL(new Blob([''], { type: 'text/javascript' }));
  try {
    new Worker(url, options as WorkerOptions).terminate();
  } catch {
    // Constructing may fail; the getter has been read if the option is supported.
  } finally {
    URL.revokeObjectURL(url);
  }
  return read;
}

export function hasWebAssembly(): boolean {
  return typeof WebAssembly === 'object' && typeof WebAssembly.instantiate === 'function';
}

/** A message naming what is missing, or null when everything needed is there. */
export function missingCapabilities(): string | null {
  const missing: string[] = [];
  if (!hasWebAssembly()) missing.push('WebAssembly');
  if (!hasWebGL2()) missing.push('WebGL2 (3D graphics)');
  if (!hasModuleWorkers()) missing.push('module web workers');
  if (missing.length === 0) return null;
  return (
    `This browser lacks ${missing.join(', ')}, which the playground needs. ` +
    'Please open it in a current Chrome, Edge, Firefox or Safari, and check that hardware ' +
    'acceleration or WebGL is not disabled in the browser settings.'
  );
}
