/**
 * A map whose writes throw. Directory implementations hand out a ChatRecord's members as one
 * of these: records are shared snapshots (no copy of a 1,000-member map per frame), so a
 * caller that casts away ReadonlyMap and writes must fail loudly rather than change the
 * snapshot every other caller holds.
 */
export function frozenMap<K, V>(entries: Iterable<readonly [K, V]>): ReadonlyMap<K, V> {
  const map = new Map(entries);
  const refuse = (): never => { throw new TypeError('a ChatRecord is an immutable snapshot'); };
  for (const method of ['set', 'delete', 'clear'] as const) Object.defineProperty(map, method, { value: refuse });
  return map;
}
