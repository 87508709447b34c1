// Messages between the page and its workers. Only plain values (and transferred
// ArrayBuffers) are posted.

/** Everything a worker needs to run attempts of one generation job. */
export interface JobSpec {
  jobId: number;
  /** The generation config as JSON (the core validates it). */
  config: string;
  /** The demo file's bytes, or null for the task's built-in demo. */
  demo: Uint8Array | null;
  /** Name of the demo file (format sniffing uses its extension). */
  demoName: string;
  /** An HDF5 file's demo as the extras module read it (the page's module has no HDF5 reader). */
  demoJson: string | null;
}

export type ToWorker =
  | { kind: 'init'; module: WebAssembly.Module; demos: Record<string, string> }
  | { kind: 'ping'; id: number }
  | { kind: 'prepare'; job: JobSpec }
  | { kind: 'attempt'; jobId: number; index: number }
  /** Fault injection for tests: make the core panic mid-job. */
  | { kind: 'crash'; reason: string };

export type FromWorker =
  | { kind: 'ready'; version: string }
  | { kind: 'pong'; id: number; version: string }
  | { kind: 'prepared'; jobId: number }
  | {
      kind: 'attempt-done';
      jobId: number;
      index: number;
      success: boolean;
      /** Failure reason (empty on success). */
      failure: string;
      /** The attempt's encoded episode (core format), transferred. */
      bytes: ArrayBuffer;
    }
  | { kind: 'job-error'; jobId: number; message: string }
  | { kind: 'error'; message: string }
  | { kind: 'panic'; message: string };
