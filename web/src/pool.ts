// A pool of module workers, each holding one instance of the same compiled core.
import type { FromWorker, ToWorker } from './protocol.ts';

export interface PoolEvents {
  /** Called whenever the number of ready workers changes. */
  onReadyChange?(ready: number, total: number): void;
  /** A worker reported an error or a panic. */
  onWorkerError?(index: number, message: string, panicked: boolean): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  version: string | null;
}

/** Default worker count: one per logical core, at least one, at most 16. */
export function defaultWorkerCount(): number {
  const n = navigator.hardwareConcurrency || 2;
  return Math.max(1, Math.min(16, n));
}

export class WorkerPool {
  private slots: Slot[] = [];
  private nextId = 1;
  private pending = new Map<number, (version: string) => void>();

  constructor(
    private readonly module: WebAssembly.Module,
    readonly size: number,
    private readonly events: PoolEvents = {},
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn(i));
  }

  private spawn(index: number): Slot {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), {
      type: 'module',
      name: `dmgen-worker-${index}`,
    });
    const slot: Slot = { worker, ready: false, version: null };
    worker.onmessage = (event: MessageEvent<FromWorker>) => this.onMessage(index, slot, event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.events.onWorkerError?.(index, event.message || 'the worker failed to start', false);
    };
    const init: ToWorker = { kind: 'init', module: this.module };
    worker.postMessage(init);
    return slot;
  }

  private onMessage(index: number, slot: Slot, msg: FromWorker): void {
    switch (msg.kind) {
      case 'ready':
        slot.ready = true;
        slot.version = msg.version;
        this.events.onReadyChange?.(this.readyCount, this.size);
        break;
      case 'pong': {
        const resolve = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        resolve?.(msg.version);
        break;
      }
      case 'error':
        this.events.onWorkerError?.(index, msg.message, false);
        break;
      case 'panic':
        slot.ready = false;
        this.events.onWorkerError?.(index, msg.message, true);
        this.events.onReadyChange?.(this.readyCount, this.size);
        break;
    }
  }

  get readyCount(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  /** Ping every ready worker; resolves with the core version each one reports. */
  ping(timeoutMs = 10_000): Promise<string[]> {
    return Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<string>((resolve, reject) => {
            const id = this.nextId++;
            const timer = setTimeout(() => {
              this.pending.delete(id);
              reject(new Error(`worker ${slot.worker} did not answer within ${timeoutMs} ms`));
            }, timeoutMs);
            this.pending.set(id, (v) => {
              clearTimeout(timer);
              resolve(v);
            });
            const msg: ToWorker = { kind: 'ping', id };
            slot.worker.postMessage(msg);
          }),
      ),
    );
  }

  terminate(): void {
    for (const s of this.slots) s.worker.terminate();
    this.slots = [];
    this.pending.clear();
  }
}
