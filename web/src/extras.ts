// Jobs run by the on-demand extras module (see extras-worker.ts): reading HDF5 demos, the
// LeRobot export,
// policy training and policy evaluation. Nothing of it is downloaded until the first job.
import type { EvalResult, ExtrasReply, ExtrasRequest, TrainProgress, ValidationPlan } from './extras-worker.ts';

export type { EvalResult, TrainProgress, ValidationPlan };

/** Times the extras module has been started (tests check it stays 0 until first use). */
export let extrasStarts = 0;

function startWorker(): Worker {
  extrasStarts++;
  return new Worker(new URL('./extras-worker.ts', import.meta.url), { type: 'module', name: 'dmgen-extras' });
}

/**
 * Run one job in a fresh extras worker; `onReply` sees every reply and returns a value to
 * finish with (the worker is then ended), or undefined to wait for more.
 */
function job<T>(request: ExtrasRequest, onReply: (r: ExtrasReply) => T | undefined, transfer: Transferable[] = []): { done: Promise<T>; worker: Worker } {
  const worker = startWorker();
  const done = new Promise<T>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<ExtrasReply>) => {
      const r = event.data;
      if (r.kind === 'error') {
        worker.terminate();
        reject(new Error(r.message));
        return;
      }
      let out: T | undefined;
      try {
        out = onReply(r);
      } catch (e) {
        worker.terminate();
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (out !== undefined) {
        worker.terminate();
        resolve(out);
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      worker.terminate();
      reject(new Error(event.message || 'the learning and export module could not be loaded'));
    };
  });
  worker.postMessage(request, transfer);
  return { done, worker };
}

/**
 * The demo names of an HDF5 file (robomimic/MimicGen) and its demo `index` read (the JSON
 * the page's module loads: `demo` is null when the file has no demo `index`). The page's
 * module has no HDF5 reader; this one does.
 */
export function readHdf5Demo(bytes: Uint8Array, index: number): Promise<{ names: string[]; demo: string | null }> {
  return job({ kind: 'hdf5', bytes, index }, (r) => (r.kind === 'hdf5' ? { names: r.names, demo: r.demo } : undefined)).done;
}

/**
 * A robomimic dataset as a LeRobot v3.0 dataset in a zip archive whose top folder is `root`
 * (the same bytes as `dmgen convert IN.hdf5 --out ROOT.zip`).
 */
export function lerobotZip(dataset: Blob, root: string): Promise<{ zip: Blob; seconds: number }> {
  return job({ kind: 'lerobot', dataset, root }, (r) =>
    r.kind === 'lerobot' ? { zip: new Blob([r.zip], { type: 'application/zip' }), seconds: r.seconds } : undefined,
  ).done;
}

export interface TrainedPolicy {
  /** The safetensors file (what `dmgen train` writes; its config is in the metadata). */
  bytes: Uint8Array;
  /** The best checkpoint by validation rollouts, and its step (null without validation). */
  best: Uint8Array | null;
  bestSteps: number;
  progress: TrainProgress;
  seconds: number;
  /** Stopped before the last step (the policy is the one trained so far). */
  stopped: boolean;
  /** Peak wasm memory of the training worker (bytes). */
  memoryBytes: number;
}

/** A training run: `stop()` ends it early, keeping the policy trained so far. */
export interface TrainingJob {
  done: Promise<TrainedPolicy>;
  stop(): void;
}

/** A validation checkpoint: successes of its rollouts. */
export interface ValidationPoint {
  steps: number;
  successes: number;
  episodes: number;
  seconds: number;
}

/** Train a policy (`train`: TrainConfig JSON) on a robomimic dataset, with validation
 * rollouts at checkpoints when `validate` is given. */
export function trainPolicy(
  dataset: Blob,
  train: string,
  validate: ValidationPlan | null,
  onProgress: (p: TrainProgress, seconds: number) => void,
  onValidation: (v: ValidationPoint) => void,
): TrainingJob {
  const { done, worker } = job<TrainedPolicy>({ kind: 'train', dataset, train, validate }, (r) => {
    if (r.kind === 'progress') onProgress(r.progress, r.seconds);
    if (r.kind === 'validation') onValidation(r);
    if (r.kind !== 'trained') return undefined;
    return {
      bytes: new Uint8Array(r.policy),
      best: r.best ? new Uint8Array(r.best) : null,
      bestSteps: r.bestSteps,
      progress: r.progress,
      seconds: r.seconds,
      stopped: r.stopped,
      memoryBytes: r.memoryBytes,
    };
  });
  return { done, stop: () => worker.postMessage({ kind: 'stop' } satisfies ExtrasRequest) };
}

/** An evaluation over several workers: `stop()` ends it after the episodes running. */
export interface EvaluationJob {
  done: Promise<{ seconds: number; stopped: boolean }>;
  stop(): void;
}

/**
 * Evaluate `policy` (`evalJson`: EvalConfig JSON) on episodes 0..episodes-1 in `workers`
 * extras workers (worker w runs the indices i with i % workers == w). Each episode's
 * result and rollout (attempt bytes, for replay) reach `onEpisode` as they finish; they
 * depend on the index only, never on the worker count.
 */
export function evaluatePolicy(
  policy: Uint8Array,
  evalJson: string,
  episodes: number,
  workers: number,
  onEpisode: (r: EvalResult, attempt: Uint8Array) => void,
  onStages: (stages: string[]) => void = () => {},
): EvaluationJob {
  const t0 = performance.now();
  const n = Math.max(1, Math.min(workers, episodes));
  const jobs = Array.from({ length: n }, (_, w) => {
    const indices: number[] = [];
    for (let i = w; i < episodes; i += n) indices.push(i);
    return job({ kind: 'eval', policy, eval: evalJson, indices }, (r) => {
      if (r.kind === 'stages') onStages(r.stages);
      if (r.kind === 'episode') onEpisode(r.result, new Uint8Array(r.attempt));
      return r.kind === 'done' ? true : undefined;
    });
  });
  let stopped = false;
  const done = (async () => {
    try {
      await Promise.all(jobs.map((j) => j.done));
    } catch (e) {
      for (const j of jobs) j.worker.terminate();
      throw e;
    }
    return { seconds: (performance.now() - t0) / 1000, stopped };
  })();
  return {
    done,
    stop: () => {
      stopped = true;
      for (const j of jobs) j.worker.postMessage({ kind: 'stop' } satisfies ExtrasRequest);
    },
  };
}
