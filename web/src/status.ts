// The page's observable state: shown in the header and exposed for tests.

export interface PageStatus {
  coreReady: boolean;
  coreVersion: string | null;
  viewerReady: boolean;
  framesDrawn: number;
  /** Orbit camera as [yaw, pitch, distance]. */
  camera: number[];
  workersTotal: number;
  workersReady: number;
  workerVersions: string[];
  panicked: boolean;
  panicMessage: string | null;
  fatal: string | null;
  /** Current task id and demo. */
  taskId: string | null;
  demoName: string | null;
  demoSamples: number;
  /** Which demo of a multi-demo (HDF5) file is loaded (0 otherwise). */
  demoIndex: number;
  /** Where the last run's dataset was written: an origin-private file or Blobs. */
  datasetSink: 'opfs' | 'blob' | null;
  /** Interior subtask boundaries of the current segmentation. */
  boundaries: number[];
  subtaskObjects: string[];
  /** Increments whenever the DMP plot is redrawn; `plotChecksum` sums its DMP series. */
  plotVersion: number;
  plotChecksum: number;
  sceneSeed: number;
  /** The scene's reset level (d0, d1, d2). */
  resetLevel: string;
  /** Live preview: running, and its outcome when finished ("success" or a failure reason). */
  previewRunning: boolean;
  previewOutcome: string | null;
  previewSteps: number;
  /** Generation progress. */
  generating: boolean;
  progress: number;
  attempts: number;
  successes: number;
  datasetReady: boolean;
  /** A LeRobot export is running; the last one's size (bytes) and conversion time (s). */
  exporting: boolean;
  lastExport: { format: 'lerobot'; bytes: number; seconds: number } | null;
  lastConfig: string | null;
  /** performance.now() when the first frame with the demo loaded was drawn (page-ready time). */
  readyAtMs: number | null;
  /** Wall time of the last finished generation run (s). */
  generationSeconds: number;
  /** The last link "Copy link" made (full URL), or null. */
  shareLink: string | null;
  /** Share links applied to the page (from the address at load or a later '#' change). */
  linksRestored: number;
  /** Workers replaced after a crash during the last generation run. */
  workerRestarts: number;
  /** A demo is being recorded; its samples so far; the gripper command. */
  recording: boolean;
  recordSamples: number;
  recordGripperClosed: boolean;
  /** Policy training and evaluation (policy.ts). */
  policy: {
    training: boolean;
    /** Gradient steps of the run in progress (or the last one), and its budget. */
    steps: number;
    totalSteps: number;
    trainLoss: number | null;
    /** Loss points plotted so far in the learning curve. */
    lossPoints: number;
    /** Validation rollouts of the last run, and the step of its best checkpoint. */
    validation: { steps: number; successes: number; episodes: number }[];
    bestSteps: number;
    /** Policies trained or loaded in this page. */
    policies: number;
    lastTrainSeconds: number;
    lastTrainSamplesPerSecond: number;
    /** Peak wasm memory of the last training worker (bytes). */
    trainMemoryBytes: number;
    evaluating: boolean;
    lastEval: {
      policy: string;
      variant: string;
      episodes: number;
      successes: number;
      seconds: number;
      /** Episodes that reached each funnel stage, in order. */
      funnel: [string, number][];
    } | null;
  };
}

export const status: PageStatus = {
  coreReady: false,
  coreVersion: null,
  viewerReady: false,
  framesDrawn: 0,
  camera: [],
  workersTotal: 0,
  workersReady: 0,
  workerVersions: [],
  panicked: false,
  panicMessage: null,
  fatal: null,
  taskId: null,
  demoName: null,
  demoSamples: 0,
  demoIndex: 0,
  datasetSink: null,
  boundaries: [],
  subtaskObjects: [],
  plotVersion: 0,
  plotChecksum: 0,
  sceneSeed: 0,
  resetLevel: 'd0',
  previewRunning: false,
  previewOutcome: null,
  previewSteps: 0,
  generating: false,
  progress: 0,
  attempts: 0,
  successes: 0,
  datasetReady: false,
  exporting: false,
  lastExport: null,
  lastConfig: null,
  readyAtMs: null,
  generationSeconds: 0,
  shareLink: null,
  linksRestored: 0,
  workerRestarts: 0,
  recording: false,
  recordSamples: 0,
  recordGripperClosed: false,
  policy: {
    training: false,
    steps: 0,
    totalSteps: 0,
    trainLoss: null,
    lossPoints: 0,
    validation: [],
    bestSteps: 0,
    policies: 0,
    lastTrainSeconds: 0,
    lastTrainSamplesPerSecond: 0,
    trainMemoryBytes: 0,
    evaluating: false,
    lastEval: null,
  },
};

window.__dmgenStatus = status;

function pill(id: string, text: string, state: 'loading' | 'ok' | 'error'): void {
  const el = document.getElementById(id);
  if (!el) return;
  el.textContent = text;
  el.dataset.state = state;
}

/** Refresh the header pills from `status`. */
export function renderStatus(): void {
  if (status.panicked) pill('core-status', 'core: crashed', 'error');
  else if (status.fatal) pill('core-status', 'core: unavailable', 'error');
  else if (status.coreReady) pill('core-status', `core ${status.coreVersion ?? ''}`.trim(), 'ok');
  else pill('core-status', 'core: loading', 'loading');

  const { workersReady, workersTotal } = status;
  const state = workersTotal > 0 && workersReady === workersTotal ? 'ok' : 'loading';
  pill('worker-status', `workers: ${workersReady}/${workersTotal} ready`, state);
}
