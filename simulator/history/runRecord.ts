import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { DriverCapabilities, RunFacts } from '../types/runTypes.ts';
import type { HistoryEvent } from './HistoryEvent.ts';

/**
 * What a run directory keeps besides the history, so `chatsim check <run-dir>` can re-check it
 * later with exactly what `chatsim run` knew: who was in which chat, which devices exist, the
 * settings the checkers need, and how to reproduce the run. Written as `run.json`.
 */
export interface RunRecord {
  schemaVersion: 1;
  scenario: { name: string; path: string };
  seed: number;
  engine: 'live' | 'sim';
  reproduce: string;
  runStartEpochMs: number;
  presenceDebounceMs: number;
  presenceTtlMs?: number;
  /** How far chat servers' wall clocks may have been off (scenario clocks, clock-jump); absent when 0. */
  serverClockOffsetMaxMs?: number;
  bugs: string[];
  friendsOfUser?: Array<[string, string[]]>;
  facts: {
    chatMembers: Array<[string, string[]]>;
    devicesOfUser: Array<[string, string[]]>;
    /** chat -> [seq, clientMsgId] the store held after the run, when chatsim started the cluster (B2). */
    persisted?: Array<[string, Array<[number, string]>]>;
    /** What the phones' driver carried, and the group chats (properties it cannot show there are judged on 1:1 chats). */
    driverCapabilities?: DriverCapabilities;
    groupChats?: string[];
  };
}

export const RUN_RECORD_FILE = 'run.json';
export const HISTORY_FILE = 'history.jsonl.gz';

export async function saveRunRecord(dir: string, record: RunRecord): Promise<string> {
  const path = join(dir, RUN_RECORD_FILE);
  await writeFile(path, JSON.stringify(record) + '\n');
  return path;
}

export function factsToRecord(facts: RunFacts): RunRecord['facts'] {
  return {
    chatMembers: [...facts.chatMembers], devicesOfUser: [...facts.devicesOfUser],
    ...(facts.persisted ? { persisted: [...facts.persisted].map(([chat, bySeq]): [string, Array<[number, string]>] => [chat, [...bySeq]]) } : {}),
    ...(facts.driverCapabilities ? { driverCapabilities: facts.driverCapabilities } : {}),
    ...(facts.groupChats ? { groupChats: [...facts.groupChats] } : {}),
  };
}

export type LoadedRun = { ok: true; record: RunRecord; facts: RunFacts; events: HistoryEvent[] } | { ok: false; message: string };

/** Reads run.json and the gzipped history of a run directory; errors say which file and why. */
export async function loadRun(dir: string): Promise<LoadedRun> {
  let record: RunRecord;
  try {
    record = JSON.parse(await readFile(join(dir, RUN_RECORD_FILE), 'utf8')) as RunRecord;
  } catch (error) {
    return { ok: false, message: `cannot read ${join(dir, RUN_RECORD_FILE)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  if (record.schemaVersion !== 1 || !record.facts) return { ok: false, message: `${join(dir, RUN_RECORD_FILE)} is not a chatsim run record (schemaVersion 1)` };
  const events: HistoryEvent[] = [];
  const path = join(dir, HISTORY_FILE);
  try {
    const input = createReadStream(path).pipe(createGunzip());
    let lineNumber = 0;
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNumber++;
      if (!line) continue;
      try {
        events.push(JSON.parse(line) as HistoryEvent);
      } catch {
        return { ok: false, message: `${path}: line ${lineNumber} is not JSON` };
      }
    }
  } catch (error) {
    return { ok: false, message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  const facts: RunFacts = {
    chatMembers: new Map(record.facts.chatMembers), devicesOfUser: new Map(record.facts.devicesOfUser),
    ...(record.facts.persisted ? { persisted: new Map(record.facts.persisted.map(([chat, bySeq]) => [chat, new Map(bySeq)])) } : {}),
    ...(record.facts.driverCapabilities ? { driverCapabilities: record.facts.driverCapabilities } : {}),
    ...(record.facts.groupChats ? { groupChats: new Set(record.facts.groupChats) } : {}),
  };
  return { ok: true, record, facts, events };
}
