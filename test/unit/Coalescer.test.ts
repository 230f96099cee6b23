import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../server/chat/Coalescer.ts';

/** A task whose runs are recorded and finished by hand. */
function gatedTask() {
  const runs: Array<{ startedAfter: number; finish: () => void; fail: (e: Error) => void }> = [];
  let writes = 0;
  let running = 0;
  let overlapped = false;
  const task = () => new Promise<void>((resolve, reject) => {
    running++;
    if (running > 1) overlapped = true;
    runs.push({
      startedAfter: writes,
      finish: () => { running--; resolve(); },
      fail: (e) => { running--; reject(e); },
    });
  });
  return { runs, task, write: () => { writes++; }, overlapped: () => overlapped };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Coalescer', () => {
  it('runs at once when idle, and folds requests made during a run into one follow-up that sees them all', async () => {
    const c = new Coalescer();
    const g = gatedTask();
    g.write();
    const first = c.run('chat', g.task);
    await turn();
    expect(g.runs).toHaveLength(1);
    expect(g.runs[0]!.startedAfter).toBe(1);
    // Three more writes and requests while the first run is under way.
    const later = [1, 2, 3].map(() => { g.write(); return c.run('chat', g.task); });
    expect(later[0]).toBe(later[1]);
    expect(later[1]).toBe(later[2]);
    await turn();
    expect(g.runs).toHaveLength(1); // no overlap: the follow-up waits
    g.runs[0]!.finish();
    await first;
    await turn();
    expect(g.runs).toHaveLength(2);
    expect(g.runs[1]!.startedAfter).toBe(4); // saw every write made before its callers asked
    g.runs[1]!.finish();
    await Promise.all(later);
    expect(g.overlapped()).toBe(false);
    expect(c.activeKeys).toBe(0);
  });

  it('a request made after the follow-up started gets a run of its own, after it', async () => {
    const c = new Coalescer();
    const g = gatedTask();
    void c.run('chat', g.task);
    await turn();
    const second = c.run('chat', g.task);
    g.runs[0]!.finish();
    await turn(); await turn();
    expect(g.runs).toHaveLength(2);
    g.write();
    const third = c.run('chat', g.task);
    expect(third).not.toBe(second);
    g.runs[1]!.finish();
    await second;
    await turn();
    expect(g.runs).toHaveLength(3);
    expect(g.runs[2]!.startedAfter).toBe(1);
    g.runs[2]!.finish();
    await third;
  });

  it('keys are independent, and a failed run rejects everyone who shared it but not the next request', async () => {
    const c = new Coalescer();
    const a = gatedTask();
    const b = gatedTask();
    const runA = c.run('a', a.task);
    const runB = c.run('b', b.task);
    await turn();
    expect(a.runs).toHaveLength(1);
    expect(b.runs).toHaveLength(1);
    const shared = [c.run('a', a.task), c.run('a', a.task)];
    a.runs[0]!.finish();
    await runA;
    await turn();
    a.runs[1]!.fail(new Error('store down'));
    for (const p of shared) await expect(p).rejects.toThrow('store down');
    const retry = c.run('a', a.task);
    await turn();
    a.runs[2]!.finish();
    await retry;
    b.runs[0]!.finish();
    await runB;
    expect(c.activeKeys).toBe(0);
  });
});
