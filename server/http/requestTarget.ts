/**
 * Parses an HTTP request target in origin form (`/path?query`), the only form the cluster
 * serves (no proxy-style absolute URLs, no `*`). Never throws: anything else, or anything the
 * URL parser refuses, is `undefined`. The target is appended to a fixed origin rather than
 * resolved against it, so `//`, `///` or `//[` stay paths instead of being read as a host.
 */
export function parseRequestTarget(target: string | undefined): URL | undefined {
  if (target === undefined || !target.startsWith('/')) return undefined;
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    return undefined;
  }
}
