/// <reference types="vite/client" />

interface Window {
  /** Test and debugging view of the page's state (read-only by convention). */
  __dmgenStatus?: import('./status.ts').PageStatus;
  /** The loaded core module, for the browser console and tests. */
  __dmgenCore?: import('./core.ts').Core;
  /** The page's playground (scene, demo, segmentation), for tests. */
  __dmgenPlayground?: import('./scene.ts').Playground;
  /** Size of the page's wasm linear memory in bytes (memory measurements). */
  __dmgenWasmMemoryBytes?: () => number;
  /** The current worker pool (tests inject faults through it). */
  __dmgenPool?: () => import('./pool.ts').WorkerPool | null;
  /** The generation panel (episode list and replay). */
  __dmgenGeneration?: import('./generation.ts').GenerationPanel;
  /** The episode replay bar (caption, play, pause, scrub). */
  __dmgenEpisodes?: import('./episode.ts').EpisodeBar;
  /** The policy panel (training, evaluation, replay of rollouts). */
  __dmgenPolicy?: import('./policy.ts').PolicyPanel;
  /** Drives a recording like the keyboard does, one control step at a time (tests). */
  __dmgenRecorder?: { key(code: string, down: boolean): boolean; steps(n: number): void };
}

// eslint-disable-next-line no-var
declare var __dmgenOnPanic: ((message: string) => void) | undefined;
