// The simulation engine's one touch of the real event loop: waiting for the next macrotask
// lets every promise callback queued so far run (the microtask queue empties first), so the
// virtual clock moves to its next instant only after the current instant's work is done.
export function yieldToMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
