import cassandra from 'cassandra-driver';
import type { Client, types as driverTypes } from 'cassandra-driver';

const { consistencies } = cassandra.types;

/**
 * Consistency levels. With RF 3 per datacenter, LOCAL_QUORUM is 2 of the 3 local replicas, so a
 * read at LOCAL_QUORUM always overlaps the last acknowledged write. The lightweight transactions
 * (seq allocation, send claims, inbox rows) run Paxos at SERIAL, a quorum of all replicas in every
 * datacenter: two chat servers in different datacenters appending to the same chat still get
 * distinct, contiguous seqs (LOCAL_SERIAL would be cheaper but is only safe if each chat is
 * written from one datacenter). The Paxos commit is at LOCAL_QUORUM, so once `append` resolves
 * the row is in the commit log of a local quorum and LOCAL_QUORUM readers see it. With RF 1 (the
 * local/CI node) every level is that one node.
 */
export const READ = { prepare: true, isIdempotent: true, consistency: consistencies.localQuorum } as const;
export const WRITE = { prepare: true, isIdempotent: true, consistency: consistencies.localQuorum } as const;
const LWT = { prepare: true, isIdempotent: true, consistency: consistencies.localQuorum, serialConsistency: consistencies.serial } as const;

/** Attempts of one lightweight transaction whose outcome was unknown (timeout) before giving up. */
const LWT_ATTEMPTS = 4;

export type Row = driverTypes.Row;

/**
 * Runs a lightweight transaction, retrying when its outcome is unknown (a write or read timeout
 * at SERIAL, or the client's own timeout). Every caller is written so that a repeat is safe: a
 * repeated claim or insert recognises its own row, a repeated CAS reads back its own value.
 */
export async function lwt(client: Client, query: string, params: unknown[]): Promise<LwtOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      const row = (await client.execute(query, params, LWT)).first();
      if (!row) throw new Error('lightweight transaction returned no row');
      return { applied: row.get('[applied]') === true, row, retried: attempt > 1 };
    } catch (error) {
      if (attempt >= LWT_ATTEMPTS || !outcomeUnknown(error)) throw error;
    }
  }
}

/** A lightweight transaction's result: when not applied, `row` holds the current values of the conditioned row. */
export interface LwtOutcome {
  applied: boolean;
  row: Row;
  /** An earlier attempt timed out: it may have applied. */
  retried: boolean;
}

function outcomeUnknown(error: unknown): boolean {
  if (error instanceof cassandra.errors.OperationTimedOutError) return true;
  if (!(error instanceof cassandra.errors.ResponseError)) return false;
  const codes = cassandra.types.responseErrorCodes;
  return error.code === codes.writeTimeout || error.code === codes.readTimeout || error.code === codes.unavailableException;
}

/** A bigint/int column as a number (the driver returns Long for bigint); undefined for null. */
export function num(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (cassandra.types.Long.isLong(value)) return (value as driverTypes.Long).toNumber();
  throw new Error(`expected a number column, got ${typeof value}`);
}

export function text(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}
