/**
 * Deepest nesting of arrays and objects accepted in JSON from a client (WebSocket frames and
 * HTTP bodies), in levels: `{}` is 1, `{"a":[1]}` is 2. Protocol v1 needs 3 at most (a provision
 * body's `friendships` pairs); the rest is slack. V8's JSON.parse itself copes with any depth,
 * but whatever later walks the value (JSON.stringify, a validator, structured clone) recurses,
 * and a few thousand levels overflow the stack: nothing deeper than this enters the server.
 */
export const JSON_DEPTH_MAX = 32;

export type BoundedJson =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'syntax' | 'too-deep' };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Parses untrusted JSON text. Never throws: invalid JSON and JSON nested deeper than
 * `depthMax` are values. The depth is checked first, by one pass over the text that skips
 * strings, so a deep document costs a scan, not a parse.
 */
export function parseJsonBounded(text: string, depthMax: number = JSON_DEPTH_MAX): BoundedJson {
  if (nestingDepthExceeds(text, depthMax)) return { ok: false, reason: 'too-deep' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, reason: 'syntax' };
  }
}

/** Whether brackets outside strings nest deeper than `depthMax` anywhere in `text`. */
export function nestingDepthExceeds(text: string, depthMax: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > depthMax) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}
