import type { ErrorObject } from 'ajv';
import { didYouMean, nearest } from './didYouMean.ts';
import type { ScenarioError } from './ScenarioError.ts';

/** ajv's JSON pointers become the dotted paths people write (`network[0].share`), one message per field. */
export function schemaErrors(errors: ErrorObject[]): ScenarioError[] {
  const byPath = new Map<string, ScenarioError>();
  for (const error of errors) {
    if (error.keyword === 'if' || error.keyword === 'anyOf' || error.keyword === 'oneOf') continue;
    let path = pointerToPath(error.instancePath);
    let message = error.message ?? 'is invalid';
    if (error.keyword === 'additionalProperties') {
      const name = (error.params as { additionalProperty: string }).additionalProperty;
      const atTop = path === '';
      path = path ? `${path}.${name}` : name;
      const known = Object.keys((error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
      const hint = didYouMean(name, known);
      const flag = atTop ? flagOnlyHint(name) : undefined;
      message = hint ? `unknown field${hint}`
        : flag ? `unknown field${flag.name === name ? ':' : `; did you mean "${flag.name}"?`} ${flag.why}`
          : `unknown field (this section takes ${known.length > 0 ? known.join(', ') : 'the fields of scenarios/schema.json'})`;
    } else if (error.keyword === 'required') {
      const name = (error.params as { missingProperty: string }).missingProperty;
      path = path ? `${path}.${name}` : name;
      message = 'is required';
    } else if (error.keyword === 'enum') {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
      message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}${typeof error.data === 'string' ? didYouMean(error.data, allowed.filter((v): v is string => typeof v === 'string')) : ''}`;
    } else if (error.keyword === 'pattern' && /ms\|s\|m\|h/.test((error.params as { pattern: string }).pattern)) {
      message = 'must be a duration: integer ms or a string like "500ms", "30s", "2m"';
    }
    // Keep the first message per field: later ones are usually the other branches of an anyOf.
    if (!byPath.has(path)) byPath.set(path, { path, message });
  }
  // A branch error on a field ("must be string") says less than the errors inside it ("stallMs: is required").
  const all = [...byPath.values()];
  return all.filter((e) => !all.some((other) => other !== e && e.path !== '' && (other.path.startsWith(`${e.path}.`) || other.path.startsWith(`${e.path}[`))));
}

/**
 * Settings people put at the top of a scenario that are command-line flags, not fields: an
 * unknown top-level key equal or near to one is told where the setting lives.
 */
const FLAG_ONLY_SETTINGS: Readonly<Record<string, string>> = {
  phones: 'A scenario has no phones field: population.users and population.devices make the phones; --phones N on the command line scales them.',
  workers: 'Phone worker threads are not part of a scenario: use --workers N on the command line.',
  dir: 'Where results go is not part of a scenario: use --dir DIR on the command line.',
};

function flagOnlyHint(name: string): { name: string; why: string } | undefined {
  const exact = FLAG_ONLY_SETTINGS[name];
  if (exact) return { name, why: exact };
  const near = nearest(name, Object.keys(FLAG_ONLY_SETTINGS));
  return near === undefined ? undefined : { name: near, why: FLAG_ONLY_SETTINGS[near]! };
}

function pointerToPath(pointer: string): string {
  if (!pointer) return '';
  return pointer.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}
