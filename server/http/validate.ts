import { ID_RULE, isId } from '../protocol/ids.ts';
import { badRequest } from './errors.ts';

// Field rules of the HTTP API. Ids follow the one id rule of server/protocol/ids.ts.
export { isId } from '../protocol/ids.ts';
/** Longest display name of a user or chat, in characters. */
export const NAME_CHARS_MAX = 128;
/** Longest password, in characters. */
export const PASSWORD_CHARS_MAX = 256;

export type Fields = Record<string, unknown>;

/** The body (or a nested item) as a plain object; arrays, null and scalars are refused. */
export function asFields(value: unknown, what = 'the body'): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(`${what} must be a JSON object`);
  return value as Fields;
}

export function requireId(fields: Fields, name: string): string {
  const value = fields[name];
  if (!isId(value)) throw badRequest(`\`${name}\` must be ${ID_RULE}`);
  return value;
}

export function optionalId(fields: Fields, name: string): string | undefined {
  return fields[name] === undefined ? undefined : requireId(fields, name);
}

export function requireString(fields: Fields, name: string, minChars: number, maxChars: number): string {
  const value = fields[name];
  if (typeof value !== 'string' || value.length < minChars || value.length > maxChars) {
    throw badRequest(`\`${name}\` must be a string of ${minChars}..${maxChars} characters`);
  }
  return value;
}

export function optionalString(fields: Fields, name: string, minChars: number, maxChars: number): string | undefined {
  return fields[name] === undefined ? undefined : requireString(fields, name, minChars, maxChars);
}

export function requireName(fields: Fields, name: string): string {
  return requireString(fields, name, 1, NAME_CHARS_MAX);
}

export function requirePassword(fields: Fields, name: string): string {
  return requireString(fields, name, 1, PASSWORD_CHARS_MAX);
}

export function requireArray(fields: Fields, name: string): unknown[] {
  const value = fields[name];
  if (!Array.isArray(value)) throw badRequest(`\`${name}\` must be an array`);
  return value;
}

export function optionalArray(fields: Fields, name: string): unknown[] {
  return fields[name] === undefined ? [] : requireArray(fields, name);
}

/** A list of ids, duplicates removed, first occurrence kept. */
export function requireIdList(fields: Fields, name: string): string[] {
  const values = requireArray(fields, name);
  for (const value of values) if (!isId(value)) throw badRequest(`every entry of \`${name}\` must be ${ID_RULE}`);
  return [...new Set(values as string[])];
}

export function requireChatKind(fields: Fields): 'direct' | 'group' {
  const kind = fields.kind;
  if (kind !== 'direct' && kind !== 'group') throw badRequest('`kind` must be "direct" or "group"');
  return kind;
}

/** A non-negative integer query parameter, or the fallback when it is absent. */
export function queryInt(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (!/^\d{1,15}$/.test(raw)) throw badRequest(`\`${name}\` must be a non-negative integer`);
  return Number(raw);
}
