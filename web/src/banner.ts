// Dismissible error banners. Text only: nothing shown here is ever parsed as HTML.

const host = (): HTMLElement => document.getElementById('banners') ?? document.body;

export interface BannerHandle {
  close(): void;
  element: HTMLElement;
}

/** Show a dismissible error banner with a title and an explanation. */
export function showError(title: string, detail: string, id?: string): BannerHandle {
  if (id) document.getElementById(id)?.remove();
  const el = document.createElement('div');
  el.className = 'banner';
  el.setAttribute('role', 'alert');
  if (id) el.id = id;
  const text = document.createElement('div');
  text.className = 'text';
  const strong = document.createElement('strong');
  strong.textContent = title;
  text.append(strong, document.createTextNode(detail));
  const close = document.createElement('button');
  close.type = 'button';
  close.setAttribute('aria-label', 'Dismiss message');
  close.textContent = '×';
  close.addEventListener('click', () => el.remove());
  el.append(text, close);
  host().append(el);
  return { close: () => el.remove(), element: el };
}

/** Replace the scene with a full-size explanation (for browsers that cannot run the playground). */
export function showFatal(message: string): void {
  const fatal = document.getElementById('fatal');
  const canvas = document.getElementById('scene');
  if (canvas) canvas.hidden = true;
  if (fatal) {
    fatal.textContent = message;
    fatal.hidden = false;
  }
}
