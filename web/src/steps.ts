// The path from one demo to a policy, on the first screen: a strip of steps under the
// title bar. Each scrolls its panel into view; each shows what is done (the demo's
// name, episodes generated, policies trained, the last evaluation), from the page's
// status, so a newcomer sees at once that generation and learning exist and where.
import { status } from './status.ts';

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Wire the step links and keep their state in step with the page. */
export function installSteps(): void {
  for (const b of document.querySelectorAll<HTMLAnchorElement>('#steps a[data-step]')) {
    // In-page links, but the address's `#` part is the share link's: scroll instead.
    b.addEventListener('click', (ev) => {
      ev.preventDefault();
      const target = document.getElementById(b.dataset.step!);
      target?.scrollIntoView({ behavior: 'smooth', block: 'start' });
      target?.querySelector<HTMLElement>('select, input, button')?.focus({ preventScroll: true });
    });
  }
  const update = (): void => {
    const p = status.policy;
    const set = (id: string, text: string, done: boolean): void => {
      const span = el(id);
      if (span.textContent !== text) span.textContent = text;
      const b = span.parentElement as HTMLElement;
      if (b.dataset.done !== String(done)) b.dataset.done = String(done);
    };
    set('step-demo', status.demoName ? `· ${status.demoName}` : '', status.demoSamples > 0);
    set('step-scene', status.taskId ? `· ${status.taskId}` : '', status.taskId !== null);
    set(
      'step-generate',
      status.generating ? `· ${status.successes} so far` : status.datasetReady ? `· ${status.successes} episodes` : '',
      status.datasetReady,
    );
    set('step-train', p.training ? `· ${Math.round((100 * p.steps) / Math.max(1, p.totalSteps))}%` : p.policies > 0 ? `· ${p.policies} trained` : '', p.policies > 0);
    const e = p.lastEval;
    set('step-evaluate', p.evaluating ? '· running' : e ? `· ${Math.round((100 * e.successes) / Math.max(1, e.episodes))}% of ${e.episodes}` : '', e !== null);
    set('step-share', status.shareLink ? '· link copied' : '', status.shareLink !== null);
  };
  update();
  setInterval(update, 500);
}
