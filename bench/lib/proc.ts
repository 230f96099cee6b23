// Per-process CPU time and memory, read from /proc (Linux): what makes a figure attributable
// to one process when the server and the load run side by side on the same cores.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clockTicks: number | undefined;

/** Clock ticks per second for /proc/<pid>/stat times (getconf CLK_TCK; 100 on Linux/x86). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcSample {
  /** User + system CPU time of the process (all its threads), seconds. */
  cpuSeconds: number;
  /** Resident set size, bytes (VmRSS). */
  rssBytes: number;
  /** Peak resident set size, bytes (VmHWM). */
  peakRssBytes: number;
  ppid: number;
}

/** One sample of a live process; undefined when it is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime is field 14, stime 15 -> indexes 11, 12; ppid field 4 -> index 1.
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { cpuSeconds, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM'), ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** The pids of a process and all its descendants, now. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const sample = sampleProcess(pid);
    if (!sample) continue;
    const list = children.get(sample.ppid) ?? [];
    list.push(pid);
    children.set(sample.ppid, list);
  }
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * Follows a process tree while it runs (a tool that forks workers, like Artillery): the last CPU
 * time seen per pid is kept, so processes that exit in between still count (up to the last poll).
 */
export class TreeMonitor {
  private readonly lastCpu = new Map<number, number>();
  private peakRss = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly rootPid: number, periodMs = 100) {
    this.poll();
    this.timer = setInterval(() => this.poll(), periodMs);
    this.timer.unref();
  }

  poll(): void {
    let rss = 0;
    for (const pid of processTree(this.rootPid)) {
      const sample = sampleProcess(pid);
      if (!sample) continue;
      this.lastCpu.set(pid, Math.max(this.lastCpu.get(pid) ?? 0, sample.cpuSeconds));
      rss += sample.rssBytes;
    }
    this.peakRss = Math.max(this.peakRss, rss);
  }

  /** CPU seconds over the whole tree so far, and the largest summed RSS seen. */
  stop(): { cpuSeconds: number; peakRssBytes: number; processes: number } {
    clearInterval(this.timer);
    let cpu = 0;
    for (const value of this.lastCpu.values()) cpu += value;
    return { cpuSeconds: cpu, peakRssBytes: this.peakRss, processes: this.lastCpu.size };
  }
}
