// Saving a file from the page (a download the browser names `name`).

/** Offer `data` (a Blob, e.g. a disk-backed File, or text of MIME `type`) as a download. */
export function download(data: Blob | string, name: string, type: string): void {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
