// Replaying an episode in the scene: a generated episode or a policy's rollout, with a
// caption (what is shown: which policy or method, which scene, the outcome) and play,
// pause and scrub controls. The core's Playground holds the episode and steps it at the
// control rate; this bar follows it every frame and drives it.
import type { Core } from './core.ts';

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

type Playground = InstanceType<Core['Playground']>;

export class EpisodeBar {
  private readonly bar = el('episode-bar');
  private readonly play = el<HTMLButtonElement>('episode-play');
  private readonly scrub = el<HTMLInputElement>('episode-scrub');
  private readonly label = el('episode-step');
  private readonly caption = el('episode-caption');
  private shownLength = -1;

  constructor(
    private readonly pg: Playground,
    private readonly onClose: () => void,
  ) {
    this.play.addEventListener('click', () => this.togglePlay());
    this.scrub.addEventListener('input', () => this.pg.show_episode_step(Number(this.scrub.value)));
    el('episode-close').addEventListener('click', () => this.onClose());
  }

  /** Show attempt bytes in the scene with `caption` (throws the core's message). */
  show(attempt: Uint8Array, caption: string): void {
    this.pg.show_episode(attempt);
    this.caption.textContent = caption;
    this.shownLength = -1;
    this.tick();
  }

  get playing(): boolean {
    return this.pg.episode_playing();
  }

  togglePlay(): void {
    if (this.pg.episode_step() < 0) return;
    this.pg.play_episode(!this.pg.episode_playing());
  }

  /** Follow the core's replay (called every frame). */
  tick(): void {
    const step = this.pg.episode_step();
    const shown = step >= 0;
    if (this.bar.hidden === shown) this.bar.hidden = !shown;
    if (!shown) return;
    const n = this.pg.episode_length();
    if (n !== this.shownLength) {
      this.shownLength = n;
      this.scrub.max = String(Math.max(0, n - 1));
    }
    if (this.scrub.value !== String(step)) this.scrub.value = String(step);
    const text = `step ${step + 1} / ${n}`;
    if (this.label.textContent !== text) this.label.textContent = text;
    const playing = this.pg.episode_playing();
    const button = playing ? 'Pause' : 'Play';
    if (this.play.textContent !== button) {
      this.play.textContent = button;
      this.play.setAttribute('aria-label', playing ? 'Pause the replay' : 'Play the replay');
    }
  }
}
