// Share links: typed wrapper over the core's link exports (format: docs/links.md).
//
// A link keeps the whole generation configuration in the URL fragment (`#v=2&c=...`),
// the policy training and evaluation settings (`&p=...`), plus the uploaded demo file when
// it is small (`&d=...`). Decoding happens in the Rust
// core, strictly: a bad link throws a LinkError whose message says what is wrong. Every
// string here is data: show it with textContent, never as HTML.

import type { Core } from './core.ts';

/** A decoded link. */
export interface DecodedLink {
  /** The configuration as canonical JSON (sorted keys, no whitespace), already validated. */
  config: string;
  /** The embedded demo file (verified against `demoSha256`), or null when not embedded. */
  demo: Uint8Array | null;
  /**
   * SHA-256 (lowercase hex) of the demo file the configuration references, or null for a
   * built-in or inline demo. Non-null with `demo === null` means: ask the user for the
   * file, then check it with {@link verifyLinkDemo}.
   */
  demoSha256: string | null;
  /** Format version the link was written in (older than the current one: it was migrated). */
  sourceVersion: number;
  /** The policy training and evaluation settings (canonical JSON), or null when absent. */
  policy: string | null;
}

/** A link could not be made or read; `message` is meant for the user. */
export class LinkError extends Error {
  override name = 'LinkError';
}

function rethrow(e: unknown): never {
  throw new LinkError(e instanceof Error ? e.message : String(e));
}

/**
 * The link fragment (starting with '#') for a configuration. Pass the uploaded demo
 * file's bytes when the configuration's demo is `{"kind": "sha256", ...}`: they must hash
 * to that SHA-256 and are embedded when small enough.
 */
export function encodeLink(core: Core, configJson: string, demoBytes?: Uint8Array | null, policyJson?: string | null): string {
  try {
    return core.encode_link(configJson, demoBytes ?? undefined, policyJson ?? undefined);
  } catch (e) {
    rethrow(e);
  }
}

/** Decode a full URL, a '#fragment' or a bare fragment. Throws LinkError. */
export function decodeLink(core: Core, link: string): DecodedLink {
  let raw: unknown;
  try {
    raw = core.decode_link(link);
  } catch (e) {
    rethrow(e);
  }
  const r = raw as Record<string, unknown> | null;
  if (
    r === null ||
    typeof r !== 'object' ||
    typeof r.config !== 'string' ||
    !(r.demo === null || r.demo instanceof Uint8Array) ||
    !(r.demoSha256 === null || typeof r.demoSha256 === 'string') ||
    typeof r.sourceVersion !== 'number' ||
    !(r.policy === null || typeof r.policy === 'string')
  ) {
    throw new LinkError('the core returned a decoded link of an unexpected shape');
  }
  return {
    config: r.config,
    demo: r.demo,
    demoSha256: r.demoSha256,
    sourceVersion: r.sourceVersion,
    policy: r.policy,
  };
}

/** Lowercase hex SHA-256 of a file's bytes. */
export function demoSha256(core: Core, bytes: Uint8Array): string {
  return core.link_demo_sha256(bytes);
}

/** Check that a file the user supplied is the one a link references. Throws LinkError. */
export function verifyLinkDemo(core: Core, expectedSha256: string, bytes: Uint8Array): void {
  try {
    core.verify_link_demo(expectedSha256, bytes);
  } catch (e) {
    rethrow(e);
  }
}

/** A full shareable URL: `base` (default: this page) without its fragment, plus `fragment`. */
export function linkUrl(fragment: string, base: string = globalThis.location?.href ?? ''): string {
  const hash = base.indexOf('#');
  const page = hash >= 0 ? base.slice(0, hash) : base;
  return page + (fragment.startsWith('#') ? fragment : `#${fragment}`);
}
