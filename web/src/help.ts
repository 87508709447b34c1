// Keyboard shortcuts and the help overlay that lists them.

export interface Shortcut {
  key: string;
  label: string;
  run(): void;
}

export function installShortcuts(shortcuts: Shortcut[], overlay: HTMLElement): void {
  const list = document.createElement('dl');
  for (const s of shortcuts) {
    const dt = document.createElement('dt');
    const kbd = document.createElement('kbd');
    kbd.textContent = s.key === ' ' ? 'Space' : s.key;
    dt.append(kbd);
    const dd = document.createElement('dd');
    dd.textContent = s.label;
    list.append(dt, dd);
  }
  const title = document.createElement('h2');
  title.textContent = 'Keyboard shortcuts';
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = 'Close';
  close.addEventListener('click', () => (overlay.hidden = true));
  overlay.replaceChildren(title, list, close);
  overlay.setAttribute('role', 'dialog');
  overlay.setAttribute('aria-label', 'Keyboard shortcuts');

  document.addEventListener('keydown', (e) => {
    const t = e.target as HTMLElement | null;
    if (t && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName))) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape') {
      overlay.hidden = true;
      return;
    }
    if (e.key === '?') {
      overlay.hidden = !overlay.hidden;
      e.preventDefault();
      return;
    }
    const s = shortcuts.find((x) => x.key.toLowerCase() === e.key.toLowerCase());
    if (s) {
      e.preventDefault();
      s.run();
    }
  });
}
