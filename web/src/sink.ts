// Where a generated dataset goes while it is written, so that a long run never
// holds the file in the tab's memory.
//
// The core streams the file: after each kept episode it hands over that episode's
// bytes, and at the end the last bytes plus the 48-byte header that belongs at
// offset 0 (file = header ‖ chunks ‖ rest). The preferred sink is a file in the
// origin-private file system (OPFS): chunks are written to disk as they come and
// the finished file is a disk-backed File. Where OPFS is missing (an insecure
// origin, an old browser), chunks are collected as Blobs, which the browser keeps
// outside the page's heap (and pages to disk in a normal profile).

/** Prefix of the OPFS files this page writes. */
const PREFIX = 'dmgen-run-';
/** Encoded output collected before it becomes one Blob (fallback sink). */
const BLOB_BATCH_BYTES = 8 * 1024 * 1024;
/** Files older than this, left by a closed tab, are removed when a page starts. */
const STALE_MS = 24 * 3600 * 1000;

export interface DatasetSink {
  /** Where the bytes go (shown to the user, measured by tests). */
  readonly kind: 'opfs' | 'blob';
  /** Queue bytes to append after everything appended before. */
  append(bytes: Uint8Array): void;
  /** Set once a write failed (e.g. the storage quota); later appends are dropped. */
  readonly error: string | null;
  /** Write the last bytes and the header; resolves to the complete file. */
  finish(header: Uint8Array, rest: Uint8Array): Promise<Blob>;
  /** Drop whatever was written. */
  discard(): Promise<void>;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

class BlobSink implements DatasetSink {
  readonly kind = 'blob';
  error: string | null = null;
  private parts: Blob[] = [];
  private batch: Uint8Array[] = [];
  private batchBytes = 0;

  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.batch.push(bytes);
    this.batchBytes += bytes.length;
    if (this.batchBytes >= BLOB_BATCH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    this.parts.push(new Blob(this.batch as BlobPart[]));
    this.batch = [];
    this.batchBytes = 0;
  }

  finish(header: Uint8Array, rest: Uint8Array): Promise<Blob> {
    this.flush();
    const file = new Blob([header as BlobPart, ...this.parts, rest as BlobPart], { type: 'application/x-hdf5' });
    this.parts = [];
    return Promise.resolve(file);
  }

  discard(): Promise<void> {
    this.parts = [];
    this.batch = [];
    return Promise.resolve();
  }
}

class OpfsSink implements DatasetSink {
  readonly kind = 'opfs';
  error: string | null = null;
  private chain: Promise<void>;

  constructor(
    private readonly dir: FileSystemDirectoryHandle,
    private readonly name: string,
    private readonly handle: FileSystemFileHandle,
    private readonly stream: FileSystemWritableFileStream,
  ) {
    // Room for the header, written last.
    this.chain = this.stream.write(new Uint8Array(48));
  }

  append(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.error) return;
    this.chain = this.chain
      .then(() => this.stream.write(bytes as Uint8Array<ArrayBuffer>))
      .catch((e: unknown) => {
        this.error ??= `the browser refused to store the dataset (${message(e)}); free some disk space or generate fewer episodes`;
      });
  }

  async finish(header: Uint8Array, rest: Uint8Array): Promise<Blob> {
    await this.chain;
    if (this.error) throw new Error(this.error);
    await this.stream.write(rest as Uint8Array<ArrayBuffer>);
    await this.stream.write({ type: 'write', position: 0, data: header as Uint8Array<ArrayBuffer> });
    await this.stream.close();
    return this.handle.getFile();
  }

  async discard(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.stream.abort().catch(() => undefined);
    await this.dir.removeEntry(this.name).catch(() => undefined);
  }
}

let counter = 0;
const tabId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** The origin-private directory, or null where there is none. */
async function opfsRoot(): Promise<FileSystemDirectoryHandle | null> {
  try {
    if (!navigator.storage?.getDirectory) return null;
    return await navigator.storage.getDirectory();
  } catch {
    return null;
  }
}

/**
 * A sink for a new file: OPFS when available (`?sink=blob` forces the fallback).
 * `label` becomes part of the file name.
 */
export async function openSink(label: string): Promise<DatasetSink> {
  const forced = new URLSearchParams(location.search).get('sink');
  const dir = forced === 'blob' ? null : await opfsRoot();
  if (dir) {
    const name = `${PREFIX}${tabId}-${counter++}-${label.replace(/[^a-z0-9_]/gi, '_')}.hdf5`;
    try {
      const handle = await dir.getFileHandle(name, { create: true });
      const stream = await handle.createWritable();
      return new OpfsSink(dir, name, handle, stream);
    } catch {
      await dir.removeEntry(name).catch(() => undefined);
    }
  }
  return new BlobSink();
}

/** Remove files of this tab's earlier runs except `keep`, and other tabs' stale files. */
export async function removeOldFiles(keep: Blob[] = []): Promise<void> {
  const dir = await opfsRoot();
  if (!dir) return;
  const kept = new Set(keep.map((b) => (b instanceof File ? b.name : '')));
  const now = Date.now();
  try {
    for await (const [name, entry] of dir as unknown as AsyncIterable<[string, FileSystemHandle]>) {
      if (!name.startsWith(PREFIX) || entry.kind !== 'file' || kept.has(name)) continue;
      const mine = name.startsWith(`${PREFIX}${tabId}-`);
      let stale = false;
      if (!mine) {
        try {
          stale = now - (await (entry as FileSystemFileHandle).getFile()).lastModified > STALE_MS;
        } catch {
          stale = false;
        }
      }
      if (mine || stale) await dir.removeEntry(name).catch(() => undefined);
    }
  } catch {
    // Listing is best effort: a leftover file costs disk space, not correctness.
  }
}
