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
