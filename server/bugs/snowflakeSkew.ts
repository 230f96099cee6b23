/** Largest clock skew the `snowflake-ids` bug gives a chat server, either way. */
export const SNOWFLAKE_SKEW_MS_MAX = 400;

/**
 * The fixed clock skew of one chat server under the `snowflake-ids` bug, in
 * [-SNOWFLAKE_SKEW_MS_MAX, +SNOWFLAKE_SKEW_MS_MAX], drawn from its id (FNV-1a) so a run is
 * reproducible and different servers disagree, as unsynchronised machines do.
 */
export function snowflakeSkewMs(serverId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < serverId.length; i++) {
    hash ^= serverId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % (2 * SNOWFLAKE_SKEW_MS_MAX + 1)) - SNOWFLAKE_SKEW_MS_MAX;
}
