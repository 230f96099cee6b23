import { readFile } from 'node:fs/promises';
import type { Client } from 'cassandra-driver';

/** The schema file; its keyspace is written `chatsim` and replaced by the one asked for. */
export const SCHEMA_FILE = new URL('./schema.cql', import.meta.url);

/** Replication for the one local/CI node. Production: {'class': 'NetworkTopologyStrategy', '<dc>': 3}. */
export const LOCAL_REPLICATION: Readonly<Record<string, string | number>> = { class: 'SimpleStrategy', replication_factor: 1 };

export interface ApplySchemaOptions {
  /** Replication map for CREATE KEYSPACE (only used when the keyspace does not exist yet). */
  replication?: Readonly<Record<string, string | number>>;
}

export interface ApplySchemaResult {
  keyspace: string;
  /** Statements executed (CREATE ... IF NOT EXISTS, and ALTER TABLE ... ADD IF NOT EXISTS for columns later versions added). */
  statements: number;
  tables: string[];
}

/** Keyspace names as Cassandra accepts them unquoted (48 characters at most). */
export function isValidKeyspaceName(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_]{0,47}$/.test(name);
}

/** The statements of schema.cql for `keyspace`, comments removed, in file order. */
export async function schemaStatements(keyspace: string, options: ApplySchemaOptions = {}): Promise<string[]> {
  if (!isValidKeyspaceName(keyspace)) throw new Error(`invalid keyspace name: ${keyspace}`);
  const text = await readFile(SCHEMA_FILE, 'utf8');
  const withoutComments = text.split('\n').map((line) => line.replace(/--.*$/, '')).join('\n');
  const replication = `{${Object.entries(options.replication ?? LOCAL_REPLICATION)
    .map(([k, v]) => `'${k}': ${typeof v === 'number' ? v : `'${v}'`}`).join(', ')}}`;
  return withoutComments
    .split(';')
    .map((s) => s.trim().replace(/\s+/g, ' '))
    .filter((s) => s.length > 0)
    .map((s) => s
      .replace(/^CREATE KEYSPACE IF NOT EXISTS chatsim /, `CREATE KEYSPACE IF NOT EXISTS ${keyspace} `)
      .replace(/WITH replication = \{[^}]*\}/, `WITH replication = ${replication}`)
      .replace(/^CREATE TABLE IF NOT EXISTS chatsim\./, `CREATE TABLE IF NOT EXISTS ${keyspace}.`)
      .replace(/^ALTER TABLE chatsim\.(\w+) ADD IF NOT EXISTS /, `ALTER TABLE ${keyspace}.$1 ADD IF NOT EXISTS `));
}

/**
 * Creates the keyspace and its tables if they do not exist, and adds columns a later version
 * added (idempotent: running it again, or from several processes, changes nothing). The driver waits for schema agreement after each
 * statement. An existing keyspace keeps its replication.
 */
export async function applySchema(client: Client, keyspace: string, options: ApplySchemaOptions = {}): Promise<ApplySchemaResult> {
  const statements = await schemaStatements(keyspace, options);
  const tables: string[] = [];
  for (const statement of statements) {
    const idempotent = [`CREATE KEYSPACE IF NOT EXISTS ${keyspace} `, `CREATE TABLE IF NOT EXISTS ${keyspace}.`, `ALTER TABLE ${keyspace}.`];
    if (!idempotent.some((prefix) => statement.startsWith(prefix)) || (statement.startsWith('ALTER') && !/ ADD IF NOT EXISTS /.test(statement))) {
      throw new Error(`unexpected statement in schema.cql: ${statement.slice(0, 80)}`);
    }
    await client.execute(statement, [], { prepare: false });
    const table = /^CREATE TABLE IF NOT EXISTS [^.]+\.(\w+)/.exec(statement)?.[1];
    if (table) tables.push(table);
  }
  return { keyspace, statements: statements.length, tables };
}
