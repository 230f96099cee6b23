/** Ends one fault window; calling it again is a no-op. */
export type EndWindow = () => void;

/**
 * A set of open fault windows of one kind, each with a value (a share, a latency). Windows may
 * overlap; `strongest` is the largest value of the open ones (0 when none is open).
 */
export class FaultWindows {
  private readonly open = new Set<{ value: number }>();

  /** Opens a window until the returned function is called. */
  start(value: number): EndWindow {
    const window = { value };
    this.open.add(window);
    return () => { this.open.delete(window); };
  }

  strongest(): number {
    let value = 0;
    for (const w of this.open) value = Math.max(value, w.value);
    return value;
  }

  get active(): boolean {
    return this.open.size > 0;
  }
}

/** A share of payloads or calls, as a fault window takes it: in (0, 1]. */
export function checkShare(share: number): void {
  if (!(share > 0 && share <= 1)) throw new Error(`a fault share must be in (0, 1], got ${share}`);
}

/** The error a backend that is down gives its callers (a connection refused, a timeout). */
export class BackendUnavailable extends Error {
  readonly code = 'BACKEND_UNAVAILABLE';
  constructor(what: string) {
    super(`${what} is unavailable (injected fault)`);
  }
}
