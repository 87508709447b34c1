// Page bootstrap: check the browser, load the core, start the scene and the worker pool.
import { showError, showFatal } from './banner.ts';
import { missingCapabilities } from './capabilities.ts';
import { compileCore, loadCore } from './core.ts';
import { defaultWorkerCount, WorkerPool } from './pool.ts';
import { SceneView } from './scene.ts';
import { renderStatus, status } from './status.ts';

let scene: SceneView | null = null;
let pool: WorkerPool | null = null;

function onPanic(message: string, where: string): void {
  if (!status.panicked) {
    status.panicked = true;
    status.panicMessage = message;
  }
  scene?.stop();
  showError(
    `The simulation core crashed (${where}).`,
    `${message}\nReload the page to start again. Files you downloaded are safe.`,
    'panic-banner',
  );
  renderStatus();
}

globalThis.__dmgenOnPanic = (message: string) => onPanic(message, 'page');

function requestedWorkers(): number {
  const raw = new URLSearchParams(location.search).get('workers');
  const n = raw === null ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(n) && n >= 1 && n <= 32 ? n : defaultWorkerCount();
}

async function startPool(module: WebAssembly.Module, size: number): Promise<void> {
  pool?.terminate();
  status.workersTotal = size;
  status.workersReady = 0;
  status.workerVersions = [];
  renderStatus();
  const p = new WorkerPool(module, size, {
    onReadyChange: (ready, total) => {
      status.workersReady = ready;
      status.workersTotal = total;
      renderStatus();
      if (ready === total && pool === p) {
        p.ping()
          .then((versions) => {
            status.workerVersions = versions;
            const detail = document.getElementById('worker-detail');
            if (detail) detail.textContent = `${versions.length} workers answered (core ${versions[0] ?? '?'}).`;
          })
          .catch((e: unknown) => showError('A worker did not answer.', String(e)));
      }
    },
    onWorkerError: (index, message, panicked) => {
      if (panicked) showError(`Worker ${index + 1} crashed.`, message, `worker-panic-${index}`);
      else showError(`Worker ${index + 1} reported an error.`, message, `worker-error-${index}`);
    },
  });
  pool = p;
}

async function main(): Promise<void> {
  const missing = missingCapabilities();
  if (missing) {
    status.fatal = missing;
    showFatal(missing);
    renderStatus();
    return;
  }
  renderStatus();

  let core;
  try {
    core = await loadCore();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    status.fatal = msg;
    showFatal(`The simulation core could not be loaded: ${msg}. Reload the page to try again.`);
    renderStatus();
    return;
  }
  window.__dmgenCore = core;
  status.coreReady = true;
  status.coreVersion = core.version();
  renderStatus();

  const canvas = document.getElementById('scene') as HTMLCanvasElement;
  try {
    scene = new SceneView(core, canvas, (frames, camera) => {
      status.camera = camera;
      status.framesDrawn = frames;
      if (!status.viewerReady && frames > 0) status.viewerReady = true;
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    status.fatal = msg;
    showFatal(`The 3D view could not start: ${msg}`);
    renderStatus();
    return;
  }

  let seed = 1;
  document.getElementById('reset-scene')?.addEventListener('click', () => scene?.reset(++seed));

  const module = await compileCore();
  const countInput = document.getElementById('worker-count') as HTMLInputElement;
  countInput.value = String(requestedWorkers());
  await startPool(module, requestedWorkers());
  document.getElementById('restart-workers')?.addEventListener('click', () => {
    const n = Number.parseInt(countInput.value, 10);
    if (!Number.isFinite(n) || n < 1 || n > 32) {
      showError('Invalid worker count.', 'Choose a whole number from 1 to 32.', 'worker-count-error');
      return;
    }
    void startPool(module, n);
  });
}

main().catch((e: unknown) => {
  showError('The page failed to start.', e instanceof Error ? e.message : String(e));
});
