import { badRequest } from './errors.ts';
import type { Route } from './types.ts';

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'wrong_method'; allowed: string[] }
  | { kind: 'none' };

interface CompiledRoute {
  route: Route;
  segments: string[];
}

/** Matches a method and path against routes of the form /v1/chats/:id, segment by segment. */
export class Router {
  private readonly compiled: CompiledRoute[];

  constructor(routes: Route[]) {
    this.compiled = routes.map((route) => ({ route, segments: route.pattern.split('/') }));
  }

  match(method: string, pathname: string): RouteMatch {
    const path = splitPath(pathname);
    const allowed: string[] = [];
    for (const { route, segments } of this.compiled) {
      const params = matchSegments(segments, path);
      if (!params) continue;
      if (route.method === method) return { kind: 'found', route, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: 'wrong_method', allowed } : { kind: 'none' };
  }
}

/** Splits a path into decoded segments; ids may arrive percent-encoded (":" as %3A). */
function splitPath(pathname: string): string[] {
  try {
    return pathname.split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    throw badRequest('the path is not valid percent-encoding');
  }
}

function matchSegments(pattern: string[], path: string[]): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i]!;
    const actual = path[i]!;
    if (expected.startsWith(':')) {
      if (actual === '') return undefined;
      params[expected.slice(1)] = actual;
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return params;
}
