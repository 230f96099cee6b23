/** A fault the run injected and when, in run time (ms from t = 0): reports shade it on the charts. */
export interface FaultWindow {
  kind: string;
  startMs: number;
  endMs: number;
  /** What happened, for people: "chat servers restarted (graceful)", "gateway 1 partitioned". */
  label?: string;
}

/** A fault of the scenario the run's cluster or target could not take: not played, no window. */
export interface FaultNotTaken {
  kind: string;
  /** When the scenario wanted it, ms from t = 0. */
  atMs: number;
  label: string;
  /** Why: "ejabberd: partition-gateway needs the reference cluster (...)", or how playing it failed. */
  reason: string;
}
