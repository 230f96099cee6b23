/**
 * A port implementation that holds connections of its own (a Redis broker's subscriber
 * connection) and lets them go on `close`. Whoever opened the port closes it; callers of the
 * port never do.
 */
export interface Closable {
  close(): Promise<void>;
}
