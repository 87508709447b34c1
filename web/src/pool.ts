// A pool of module workers, each holding one instance of the same compiled core,
// and the scheduler that runs generation attempts on it.
//
// Attempts are identified by their index; the core derives each attempt's seed
// from (config seed, index) only. Results are delivered strictly in index order,
// so what the page assembles never depends on the number of workers or on which
// worker ran what. A worker that panics or dies is replaced and its attempt is
// run again by the new worker.
import type { FromWorker, JobSpec, ToWorker } from './protocol.ts';

export interface PoolEvents {
  /** Called whenever the number of ready workers changes. */
  onReadyChange?(ready: number, total: number): void;
  /** A worker reported an error or a panic (it is being replaced when it panicked). */
  onWorkerError?(index: number, message: string, panicked: boolean): void;
}

export interface AttemptResult {
  index: number;
  success: boolean;
  failure: string;
  bytes: Uint8Array;
}

export interface RunOptions {
  /** Successful attempts to keep (the first ones in index order). */
  wanted: number;
  /** Attempt budget: never run index >= maxAttempts. */
  maxAttempts: number;
}

export interface RunHandlers {
  /** Each attempt's result, in strictly increasing index order, until the run ends. */
  onResult(result: AttemptResult): void;
}

export interface RunSummary {
  attempts: number;
  successes: number;
  /** The user stopped the run. */
  stopped: boolean;
  /** The attempt budget ran out before `wanted` successes. */
  exhausted: boolean;
  /** Workers replaced after a crash during this run. */
  restarts: number;
  /** Set when the job itself is invalid (same error from the core on every worker). */
  error: string | null;
}

interface Slot {
  worker: Worker;
  id: number;
  ready: boolean;
  version: string | null;
  preparedJob: number | null;
  busyIndex: number | null;
}

/** Default worker count: one per logical core, at least one, at most 16. */
export function defaultWorkerCount(): number {
  const n = navigator.hardwareConcurrency || 2;
  return Math.max(1, Math.min(16, n));
}

class Run {
  readonly done: Promise<RunSummary>;
  private resolve!: (s: RunSummary) => void;
  queue: number[] = [];
  nextFresh = 0;
  results = new Map<number, AttemptResult>();
  cursor = 0;
  successes = 0;
  restarts = 0;
  finished = false;

  constructor(
    readonly job: JobSpec,
    readonly options: RunOptions,
    readonly handlers: RunHandlers,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  /** Next index to run, or null when nothing is left to start. */
  take(): number | null {
    if (this.queue.length > 0) {
      this.queue.sort((a, b) => a - b);
      return this.queue.shift() ?? null;
    }
    if (this.nextFresh < this.options.maxAttempts) return this.nextFresh++;
    return null;
  }

  finish(summary: Partial<RunSummary>): void {
    if (this.finished) return;
    this.finished = true;
    this.resolve({
      attempts: this.cursor,
      successes: this.successes,
      stopped: false,
      exhausted: false,
      restarts: this.restarts,
      error: null,
      ...summary,
    });
  }
}

export class WorkerPool {
  private slots: Slot[] = [];
  private nextWorkerId = 0;
  private nextPing = 1;
  private pendingPings = new Map<number, (version: string) => void>();
  private run: Run | null = null;
  private nextJobId = 1;

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly demos: Record<string, string>,
    readonly size: number,
    private readonly events: PoolEvents = {},
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const id = this.nextWorkerId++;
    const worker = new Worker(new URL('./worker.ts', import.meta.url), {
      type: 'module',
      name: `dmgen-worker-${id}`,
    });
    const slot: Slot = { worker, id, ready: false, version: null, preparedJob: null, busyIndex: null };
    worker.onmessage = (event: MessageEvent<FromWorker>) => this.onMessage(slot, event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.replace(slot, event.message || 'the worker stopped unexpectedly');
    };
    this.post(slot, { kind: 'init', module: this.module, demos: this.demos });
    return slot;
  }

  private post(slot: Slot, msg: ToWorker, transfer: Transferable[] = []): void {
    slot.worker.postMessage(msg, transfer);
  }

  /** Replace a crashed or killed worker; its attempt goes back to the queue. */
  private replace(slot: Slot, message: string): void {
    const at = this.slots.indexOf(slot);
    if (at < 0) return; // already replaced
    slot.worker.terminate();
    const run = this.run;
    if (run && !run.finished && slot.busyIndex !== null) {
      run.queue.push(slot.busyIndex);
      run.restarts++;
    }
    this.events.onWorkerError?.(at, message, true);
    this.slots[at] = this.spawn();
    this.events.onReadyChange?.(this.readyCount, this.size);
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (!this.slots.includes(slot)) return; // a replaced worker's late message
    switch (msg.kind) {
      case 'ready':
        slot.ready = true;
        slot.version = msg.version;
        this.events.onReadyChange?.(this.readyCount, this.size);
        this.dispatch();
        break;
      case 'pong': {
        const resolve = this.pendingPings.get(msg.id);
        this.pendingPings.delete(msg.id);
        resolve?.(msg.version);
        break;
      }
      case 'prepared':
        break;
      case 'attempt-done': {
        const run = this.run;
        slot.busyIndex = null;
        if (run && !run.finished && msg.jobId === run.job.jobId) {
          run.results.set(msg.index, {
            index: msg.index,
            success: msg.success,
            failure: msg.failure,
            bytes: new Uint8Array(msg.bytes),
          });
          this.deliver(run);
        }
        this.dispatch();
        break;
      }
      case 'job-error': {
        slot.busyIndex = null;
        const run = this.run;
        if (run && msg.jobId === run.job.jobId) {
          this.stopWorkers(run);
          run.finish({ error: msg.message });
        }
        break;
      }
      case 'error':
        this.events.onWorkerError?.(this.slots.indexOf(slot), msg.message, false);
        break;
      case 'panic':
        this.replace(slot, msg.message);
        this.dispatch();
        break;
    }
  }

  private deliver(run: Run): void {
    // Book-keeping first, then new work for idle workers, then the page's handler:
    // a worker never waits while the page assembles and writes a result.
    const ready: AttemptResult[] = [];
    while (!run.finished && run.results.has(run.cursor)) {
      const r = run.results.get(run.cursor)!;
      run.results.delete(run.cursor);
      run.cursor++;
      if (r.success) run.successes++;
      ready.push(r);
      if (run.successes >= run.options.wanted) {
        this.stopWorkers(run);
        run.finish({});
      } else if (run.cursor >= run.options.maxAttempts) {
        this.stopWorkers(run);
        run.finish({ exhausted: true });
      }
    }
    const endedHere = run.finished;
    this.dispatch();
    for (const r of ready) {
      // The handler may stop the run (e.g. the dataset could not be written).
      if (run.finished && !endedHere) break;
      run.handlers.onResult(r);
    }
  }

  private dispatch(): void {
    const run = this.run;
    if (!run || run.finished) return;
    for (const slot of this.slots) {
      if (!slot.ready || slot.busyIndex !== null) continue;
      const index = run.take();
      if (index === null) return;
      if (slot.preparedJob !== run.job.jobId) {
        this.post(slot, { kind: 'prepare', job: run.job });
        slot.preparedJob = run.job.jobId;
      }
      slot.busyIndex = index;
      this.post(slot, { kind: 'attempt', jobId: run.job.jobId, index });
    }
  }

  /** Cancel in-flight attempts promptly: busy workers are replaced by fresh ones. */
  private stopWorkers(run: Run): void {
    for (const slot of [...this.slots]) {
      if (slot.busyIndex === null) continue;
      slot.busyIndex = null;
      const at = this.slots.indexOf(slot);
      slot.worker.terminate();
      this.slots[at] = this.spawn();
    }
    run.queue = [];
    this.events.onReadyChange?.(this.readyCount, this.size);
  }

  /** Run a generation job; at most one job runs at a time. */
  start(job: Omit<JobSpec, 'jobId'>, options: RunOptions, handlers: RunHandlers): {
    stop(): void;
    done: Promise<RunSummary>;
  } {
    if (this.run && !this.run.finished) throw new Error('a generation run is already in progress');
    const run = new Run({ ...job, jobId: this.nextJobId++ }, options, handlers);
    this.run = run;
    if (options.wanted <= 0 || options.maxAttempts <= 0) run.finish({ exhausted: options.wanted > 0 });
    this.dispatch();
    return {
      stop: () => {
        if (run.finished) return;
        this.stopWorkers(run);
        run.finish({ stopped: true });
      },
      done: run.done,
    };
  }

  /** Fault injection (tests, diagnostics): make worker `i` panic or kill it outright. */
  injectFault(i: number, how: 'panic' | 'kill'): boolean {
    const slot = this.slots[i];
    if (!slot) return false;
    if (how === 'kill') this.replace(slot, 'worker killed');
    else this.post(slot, { kind: 'crash', reason: 'fault injected' });
    return true;
  }

  get readyCount(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  get busyCount(): number {
    return this.slots.filter((s) => s.busyIndex !== null).length;
  }

  /** Ping every worker; resolves with the core version each one reports. */
  ping(timeoutMs = 10_000): Promise<string[]> {
    return Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<string>((resolve, reject) => {
            const id = this.nextPing++;
            const timer = setTimeout(() => {
              this.pendingPings.delete(id);
              reject(new Error(`worker ${slot.id} did not answer within ${timeoutMs} ms`));
            }, timeoutMs);
            this.pendingPings.set(id, (v) => {
              clearTimeout(timer);
              resolve(v);
            });
            this.post(slot, { kind: 'ping', id });
          }),
      ),
    );
  }

  terminate(): void {
    for (const s of this.slots) s.worker.terminate();
    this.slots = [];
    this.pendingPings.clear();
  }
}
