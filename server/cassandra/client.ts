import cassandra from 'cassandra-driver';
import type { Client } from 'cassandra-driver';

/** Where a single local node listens unless told otherwise (scripts/cassandra.sh). */
export const DEFAULT_CASSANDRA = '127.0.0.1:9042';

export interface CassandraClientOptions {
  /** The local datacenter's name; a node with SimpleSnitch calls itself 'datacenter1'. */
  localDataCenter?: string;
  /** Milliseconds to wait for a TCP connection (driver default 5000). */
  connectTimeoutMs?: number;
}

/** Parses HOST:PORT (the port defaults to 9042); undefined when malformed. */
export function parseContactPoint(value: string): { host: string; port: number } | undefined {
  const match = /^([A-Za-z0-9.\-_]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?$/.exec(value.trim());
  if (!match) return undefined;
  const port = match[2] === undefined ? 9042 : Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * A driver client for `contactPoint` (HOST:PORT). Defaults for every statement: LOCAL_QUORUM,
 * SERIAL for lightweight transactions, prepared. The caller connects it and shuts it down.
 */
export function createCassandraClient(contactPoint: string, options: CassandraClientOptions = {}): Client {
  const parsed = parseContactPoint(contactPoint);
  if (!parsed) throw new Error(`not a HOST:PORT contact point: ${contactPoint}`);
  return new cassandra.Client({
    contactPoints: [parsed.host],
    protocolOptions: { port: parsed.port },
    localDataCenter: options.localDataCenter ?? 'datacenter1',
    socketOptions: { connectTimeout: options.connectTimeoutMs ?? 5_000 },
    queryOptions: {
      consistency: cassandra.types.consistencies.localQuorum,
      serialConsistency: cassandra.types.consistencies.serial,
      prepare: true,
    },
  });
}
