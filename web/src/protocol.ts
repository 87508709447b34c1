// Messages between the page and its workers. Only plain values are posted.

export type ToWorker =
  | { kind: 'init'; module: WebAssembly.Module }
  | { kind: 'ping'; id: number };

export type FromWorker =
  | { kind: 'ready'; version: string }
  | { kind: 'pong'; id: number; version: string }
  | { kind: 'error'; message: string }
  | { kind: 'panic'; message: string };
