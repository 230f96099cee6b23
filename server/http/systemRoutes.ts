import { withAdmin, withAdminOrBearer } from './auth.ts';
import { provision } from './provision.ts';
import type { HttpApiDeps, Reply, Route } from './types.ts';

/** Health, discovery and the operator endpoints. */
export function systemRoutes(deps: HttpApiDeps): Route[] {
  const admin = deps.admin;
  return [
    { method: 'GET', pattern: '/v1/health', handle: async () => health(deps) },
    { method: 'GET', pattern: '/v1/gateways', handle: async () => ({ status: 200, body: { gateways: deps.gatewayUrls() } }) },
    { method: 'POST', pattern: '/v1/admin/restart-chat-servers', handle: withAdmin(admin.token, () => restartChatServers(deps)) },
    { method: 'POST', pattern: '/v1/admin/provision', handle: withAdmin(admin.token, async (ctx) => provision(deps, await ctx.readJson())) },
    ...observabilityRoutes(deps),
  ];
}

/** `/metrics` and the Prometheus target list, for the admin token only (docs/security.md). */
function observabilityRoutes(deps: HttpApiDeps): Route[] {
  const observability = deps.observability;
  if (!observability) return [];
  return [
    {
      method: 'GET', pattern: '/metrics',
      handle: withAdminOrBearer(deps.admin.token, async (ctx) => ({ status: 200, raw: await observability.exposition(headerText(ctx.headers.accept)) })),
    },
    { method: 'GET', pattern: '/v1/admin/metrics-targets', handle: withAdminOrBearer(deps.admin.token, async () => ({ status: 200, body: observability.targets() })) },
  ];
}

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : value ?? '';
}

function health(deps: HttpApiDeps): Reply {
  return { status: 200, body: { status: 'ok', epoch: deps.store.epoch, gateways: deps.gatewayUrls().length } };
}

async function restartChatServers(deps: HttpApiDeps): Promise<Reply> {
  return { status: 200, body: { restarted: await deps.admin.restartChatServers() } };
}
