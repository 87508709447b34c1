// The on-demand extras module (web/pkg-extras: HDF5 demo reading, the LeRobot export and
// policy learning)
// in a worker of its own, so converting a dataset, training or evaluating neither freezes
// the page nor stays in its memory: the page ends the worker when the job is done.
//
// One job per worker: `hdf5` (one reply: the file's demo names and demo `index` read),
// `lerobot` (one reply), `train` (progress messages and, with a validation plan, the
// successes of validation rollouts at checkpoints, then the final and the best policy; a
// `stop` message ends training early with the policy trained so far) or `eval` (the
// task's funnel stages, one message per episode in the order of `indices`, then `done`).
import init, { hdf5_demo_json, hdf5_demo_names, lerobot_zip, PolicyEvaluator, PolicyTrainer } from '../pkg-extras/dmgen_extras.js';
import wasmUrl from '../pkg-extras/dmgen_extras_bg.wasm?url';

/** Training progress (the core's `TrainProgress`). */
export interface TrainProgress {
  steps: number;
  total_steps: number;
  /** Passes over the training data (derived from the steps). */
  epoch: number;
  epochs: number;
  samples: number;
  /** Progress points so far: the losses are new whenever this grows. */
  points: number;
  train_loss: number | null;
  valid_loss: number | null;
  step_loss: number;
  lr: number;
  done: boolean;
}

/** An event of an evaluation episode. */
export interface EvalEvent {
  step: number;
  kind: string;
}

/** One evaluation episode's result (the core's JSON). */
export interface EvalResult {
  index: number;
  success: boolean;
  failure: string | null;
  dynamic: boolean;
  steps: number;
  /** Funnel stages reached, in order. */
  reached: number;
  events: EvalEvent[];
}

/** Validation rollouts during training: every `every` steps (and at the end), `episodes`
 * episodes of the `eval` settings (EvalConfig JSON, validation seed). */
export interface ValidationPlan {
  every: number;
  episodes: number;
  eval: string;
}

export type ExtrasRequest =
  | { kind: 'hdf5'; bytes: Uint8Array; index: number }
  | { kind: 'lerobot'; dataset: Blob; root: string }
  | { kind: 'train'; dataset: Blob; train: string; validate: ValidationPlan | null }
  | { kind: 'stop' }
  | { kind: 'eval'; policy: Uint8Array; eval: string; indices: number[] };

export type ExtrasReply =
  | { kind: 'hdf5'; names: string[]; demo: string | null }
  | { kind: 'lerobot'; zip: ArrayBuffer; seconds: number }
  | { kind: 'progress'; progress: TrainProgress; seconds: number; memoryBytes: number }
  | { kind: 'validation'; steps: number; successes: number; episodes: number; seconds: number }
  | {
      kind: 'trained';
      policy: ArrayBuffer;
      /** The checkpoint with the most validation successes (the earliest of equals), or null without validation. */
      best: ArrayBuffer | null;
      bestSteps: number;
      progress: TrainProgress;
      seconds: number;
      stopped: boolean;
      memoryBytes: number;
    }
  | { kind: 'stages'; stages: string[] }
  | { kind: 'episode'; result: EvalResult; attempt: ArrayBuffer }
  | { kind: 'done'; seconds: number }
  | { kind: 'error'; message: string };

const scope = self as unknown as Worker;
const post = (m: ExtrasReply, transfer: Transferable[] = []): void => scope.postMessage(m, transfer);
/** Longest stretch of training between two progress messages (ms). */
const REPORT_MS = 150;
/** Gradient steps per call into the core (a call also ends at a progress point). */
const STEPS_PER_CALL = 4;

let stopRequested = false;
let ready: Promise<{ memory: WebAssembly.Memory }> | null = null;
let memory: WebAssembly.Memory | null = null;
/** Bytes of this worker's wasm memory (it only grows: the peak so far). */
const memoryBytes = (): number => memory?.buffer.byteLength ?? 0;

/** Let queued messages (a `stop`) run. */
const yieldToMessages = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** Validation rollouts of a policy: its successes on the plan's first `episodes` scenes. */
async function validate(policy: Uint8Array, plan: ValidationPlan): Promise<number> {
  const ev = new PolicyEvaluator(policy, plan.eval);
  let successes = 0;
  try {
    for (let i = 0; i < plan.episodes && !stopRequested; i++) {
      const r = JSON.parse(ev.episode(i)) as EvalResult;
      ev.take_attempt();
      successes += r.success ? 1 : 0;
      await yieldToMessages();
    }
  } finally {
    ev.free();
  }
  return successes;
}

async function train(dataset: Blob, settings: string, plan: ValidationPlan | null): Promise<void> {
  const t0 = performance.now();
  const seconds = (): number => (performance.now() - t0) / 1000;
  const trainer = new PolicyTrainer(new Uint8Array(await dataset.arrayBuffer()), settings);
  let best: { bytes: Uint8Array; steps: number; successes: number } | null = null;
  try {
    let progress = JSON.parse(trainer.run(0)) as TrainProgress;
    let nextCheck = plan ? Math.max(1, plan.every) : Infinity;
    let last = performance.now();
    while (!progress.done && !stopRequested) {
      const points = progress.points;
      progress = JSON.parse(trainer.run(Math.min(STEPS_PER_CALL, Math.max(1, nextCheck - progress.steps)))) as TrainProgress;
      // Every progress point is reported (the page plots its losses), and between them
      // at most every REPORT_MS.
      if (progress.points !== points || performance.now() - last > REPORT_MS) {
        post({ kind: 'progress', progress, seconds: seconds(), memoryBytes: memoryBytes() });
        await yieldToMessages();
        last = performance.now();
      }
      if (plan && (progress.steps >= nextCheck || progress.done) && !stopRequested) {
        nextCheck = progress.steps + Math.max(1, plan.every);
        const bytes = trainer.policy();
        const successes = await validate(bytes, plan);
        if (stopRequested) break;
        if (!best || successes > best.successes) best = { bytes, steps: progress.steps, successes };
        post({ kind: 'validation', steps: progress.steps, successes, episodes: plan.episodes, seconds: seconds() });
      }
    }
    const policy = trainer.policy().buffer as ArrayBuffer;
    const bestBuffer = best ? (best.bytes.buffer as ArrayBuffer) : null;
    post(
      {
        kind: 'trained',
        policy,
        best: bestBuffer,
        bestSteps: best?.steps ?? progress.steps,
        progress,
        seconds: seconds(),
        stopped: !progress.done,
        memoryBytes: memoryBytes(),
      },
      bestBuffer ? [policy, bestBuffer] : [policy],
    );
  } finally {
    trainer.free();
  }
}

async function evaluate(policy: Uint8Array, settings: string, indices: number[]): Promise<void> {
  const t0 = performance.now();
  const ev = new PolicyEvaluator(policy, settings);
  try {
    post({ kind: 'stages', stages: JSON.parse(ev.stages()) as string[] });
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
      await train(r.dataset, r.train, r.validate);
    } else {
      await evaluate(r.policy, r.eval, r.indices);
    }
  } catch (e) {
    post({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
