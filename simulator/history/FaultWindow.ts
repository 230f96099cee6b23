/** A fault the run injected and when, in run time (ms from t = 0): reports shade it on the charts. */
export interface FaultWindow {
  kind: string;
  startMs: number;
  endMs: number;
  /** What happened, for people: "chat servers restarted (graceful)", "gateway 1 partitioned". */
  label?: string;
}
