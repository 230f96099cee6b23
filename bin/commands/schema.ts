import { InvalidArgumentError, type Command } from 'commander';
import { applySchema, isValidKeyspaceName, SCHEMA_FILE } from '../../server/cassandra/applySchema.ts';
import { createCassandraClient, DEFAULT_CASSANDRA, parseContactPoint } from '../../server/cassandra/client.ts';

/** `chatsim schema apply`: creates the Cassandra keyspace and tables of the message store (idempotent). */
export function registerSchema(program: Command, setExit: (code: number) => void): void {
  const schema = program
    .command('schema')
    .description('manage the Cassandra schema of the message store (server/cassandra/schema.cql)');
  schema
    .command('apply')
    .description('create the keyspace and tables if they do not exist (safe to run again: every statement is IF NOT EXISTS)')
    .option('--cassandra <host:port>', 'a Cassandra node to connect to', parseHostPort, process.env.CHATSIM_CASSANDRA ?? DEFAULT_CASSANDRA)
    .option('--keyspace <name>', 'keyspace to create or complete', parseKeyspace, 'chatsim')
    .option('--datacenter <name>', 'the local datacenter of the driver', 'datacenter1')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', [
      '',
      'A new keyspace gets SimpleStrategy with replication_factor 1 (one local node). For production,',
      "create the keyspace yourself first (NetworkTopologyStrategy, RF 3 per datacenter); apply then adds the tables.",
      '',
      'Exit codes: 0 applied, 3 could not connect or a statement failed, 64 bad arguments.',
    ].join('\n'))
    .action(async (opts: { cassandra: string; keyspace: string; datacenter: string; json?: boolean }) => {
      setExit(await applyCommand(opts.cassandra, opts.keyspace, opts.datacenter, opts.json === true));
    });
}

async function applyCommand(contactPoint: string, keyspace: string, datacenter: string, json: boolean): Promise<number> {
  const client = createCassandraClient(contactPoint, { localDataCenter: datacenter });
  const startedMs = Date.now();
  try {
    await client.connect();
    const result = await applySchema(client, keyspace);
    const elapsedMs = Date.now() - startedMs;
    if (json) console.log(JSON.stringify({ ok: true, cassandra: contactPoint, ...result, elapsedMs }));
    else console.log(`schema applied: keyspace ${keyspace} on ${contactPoint}, ${result.tables.length} tables (${result.tables.join(', ')}) in ${elapsedMs} ms`);
    return 0;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    if (json) console.log(JSON.stringify({ ok: false, cassandra: contactPoint, keyspace, error: message }));
    console.error(`chatsim schema apply: ${message} (schema file ${SCHEMA_FILE.pathname})`);
    return 3;
  } finally {
    await client.shutdown().catch(() => {});
  }
}

function parseHostPort(value: string): string {
  if (!parseContactPoint(value)) throw new InvalidArgumentError(`expected HOST:PORT, got ${value}`);
  return value;
}

function parseKeyspace(value: string): string {
  if (!isValidKeyspaceName(value)) throw new InvalidArgumentError(`expected a keyspace name (a letter, then letters, digits or _; 48 at most), got ${value}`);
  return value;
}
