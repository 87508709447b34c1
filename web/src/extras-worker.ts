// The on-demand extras module (web/pkg-extras: HDF5 demo reading, the LeRobot export and
// policy learning)
// in a worker of its own, so converting a dataset, training or evaluating neither freezes
// the page nor stays in its memory: the page ends the worker when the job is done.
//
// One job per worker: `hdf5` (one reply: the file's demo names and demo `index` read),
// `lerobot` (one reply), `train` (progress messages, then the policy;
// a `stop` message ends training early with the policy trained so far) or `eval` (one
// message per episode, in the order of `indices`, then `done`).
import init, { hdf5_demo_json, hdf5_demo_names, lerobot_zip, PolicyEvaluator, PolicyTrainer } from '../pkg-extras/dmgen_extras.js';
import wasmUrl from '../pkg-extras/dmgen_extras_bg.wasm?url';

/** robomimic-style training progress (the core's `TrainProgress`). */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  steps: number;
  samples: number;
  train_loss: number | null;
  valid_loss: number | null;
  step_loss: number;
  done: boolean;
}

/** One evaluation episode's result (the core's JSON). */
export interface EvalResult {
  index: number;
  success: boolean;
  failure: string | null;
  dynamic: boolean;
  steps: number;
}

export type ExtrasRequest =
  | { kind: 'hdf5'; bytes: Uint8Array; index: number }
  | { kind: 'lerobot'; dataset: Blob; root: string }
  | { kind: 'train'; dataset: Blob; train: string }
  | { kind: 'stop' }
  | { kind: 'eval'; policy: Uint8Array; eval: string; indices: number[] };

export type ExtrasReply =
  | { kind: 'hdf5'; names: string[]; demo: string | null }
  | { kind: 'lerobot'; zip: ArrayBuffer; seconds: number }
  | { kind: 'progress'; progress: TrainProgress; seconds: number; memoryBytes: number }
  | { kind: 'trained'; policy: ArrayBuffer; progress: TrainProgress; seconds: number; stopped: boolean; memoryBytes: number }
  | { kind: 'episode'; result: EvalResult; attempt: ArrayBuffer }
  | { kind: 'done'; seconds: number }
  | { kind: 'error'; message: string };

const scope = self as unknown as Worker;
const post = (m: ExtrasReply, transfer: Transferable[] = []): void => scope.postMessage(m, transfer);
/** Longest stretch of training between two progress messages (ms). */
const REPORT_MS = 150;
/** Gradient steps per call into the core (a call also ends at an epoch's end). */
const STEPS_PER_CALL = 4;

let stopRequested = false;
let ready: Promise<{ memory: WebAssembly.Memory }> | null = null;
let memory: WebAssembly.Memory | null = null;
/** Bytes of this worker's wasm memory (it only grows: the peak so far). */
const memoryBytes = (): number => memory?.buffer.byteLength ?? 0;

/** Let queued messages (a `stop`) run. */
const yieldToMessages = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

async function train(dataset: Blob, settings: string): Promise<void> {
  const t0 = performance.now();
  const trainer = new PolicyTrainer(new Uint8Array(await dataset.arrayBuffer()), settings);
  try {
    let progress = JSON.parse(trainer.run(0)) as TrainProgress;
    let last = performance.now();
    while (!progress.done && !stopRequested) {
      const epoch = progress.epoch;
      progress = JSON.parse(trainer.run(STEPS_PER_CALL)) as TrainProgress;
      // Every epoch's end is reported (the page plots its losses), and between them at
      // most every REPORT_MS.
      if (progress.epoch !== epoch || performance.now() - last > REPORT_MS) {
        post({ kind: 'progress', progress, seconds: (performance.now() - t0) / 1000, memoryBytes: memoryBytes() });
        await yieldToMessages();
        last = performance.now();
      }
    }
    const bytes = trainer.policy();
    const policy = bytes.buffer as ArrayBuffer;
    post(
      { kind: 'trained', policy, progress, seconds: (performance.now() - t0) / 1000, stopped: !progress.done, memoryBytes: memoryBytes() },
      [policy],
    );
  } finally {
    trainer.free();
  }
}

async function evaluate(policy: Uint8Array, settings: string, indices: number[]): Promise<void> {
  const t0 = performance.now();
  const ev = new PolicyEvaluator(policy, settings);
  try {
    for (const i of indices) {
      if (stopRequested) break;
      const result = JSON.parse(ev.episode(i)) as EvalResult;
      const attempt = ev.take_attempt().buffer as ArrayBuffer;
      post({ kind: 'episode', result, attempt }, [attempt]);
      await yieldToMessages();
    }
    post({ kind: 'done', seconds: (performance.now() - t0) / 1000 });
  } finally {
    ev.free();
  }
}

self.onmessage = async (event: MessageEvent<ExtrasRequest>) => {
  const r = event.data;
  if (r.kind === 'stop') {
    stopRequested = true;
    return;
  }
  try {
    ready ??= init({ module_or_path: wasmUrl });
    memory = (await ready).memory;
    if (r.kind === 'hdf5') {
      const names = hdf5_demo_names(r.bytes);
      // An index past the end is the page's to explain (it knows what asked for it).
      post({ kind: 'hdf5', names, demo: r.index < names.length ? hdf5_demo_json(r.bytes, r.index) : null });
    } else if (r.kind === 'lerobot') {
      const t0 = performance.now();
      const bytes = new Uint8Array(await r.dataset.arrayBuffer());
      const zip = lerobot_zip(bytes, r.root).buffer as ArrayBuffer;
      post({ kind: 'lerobot', zip, seconds: (performance.now() - t0) / 1000 }, [zip]);
    } else if (r.kind === 'train') {
      await train(r.dataset, r.train);
    } else {
      await evaluate(r.policy, r.eval, r.indices);
    }
  } catch (e) {
    post({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
