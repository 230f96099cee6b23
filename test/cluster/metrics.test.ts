import { afterEach, describe, expect, it } from 'vitest';
import { parsePromText, sumSamples } from '../support/promText.ts';
import { startHarness, type Harness } from '../support/harness.ts';

describe('the cluster\'s /metrics', () => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('is for the admin token only, and its counts agree with the cluster\'s own', async () => {
    h = await startHarness({ adminToken: 'metrics-admin' });
    const chat = await h.createChat('alice', 'group', ['bob', 'carol']);
    const alice = await h.connect('alice', { gateway: 0 });
    const bob = await h.connect('bob', { gateway: 1 });
    for (let i = 1; i <= 3; i++) alice.send({ type: 'send', chat, clientMsgId: `m${i}`, body: `hello ${i}` });
    alice.send({ type: 'bogus' });
    await alice.next((f) => f.type === 'sent' && f.ref === 'm3');
    await alice.next((f) => f.type === 'error');
    await bob.until(() => (bob.ofType('message').length >= 3 ? true : undefined));

    expect((await fetch(`${h.httpUrl}/metrics`)).status).toBe(403);
    expect((await fetch(`${h.httpUrl}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(403);
    const res = await fetch(`${h.httpUrl}/metrics`, { headers: { authorization: 'Bearer metrics-admin' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePromText(await res.text());
    const [gw1, gw2] = h.cluster.gateways;
    expect(sumSamples(samples, 'chatsim_gateway_connections', { gateway: 'gw1' })).toBe(gw1!.connectionCount());
    expect(sumSamples(samples, 'chatsim_gateway_connections', { gateway: 'gw2' })).toBe(gw2!.connectionCount());
    expect(sumSamples(samples, 'chatsim_gateway_frames_in_total')).toBe(gw1!.stats.framesIn + gw2!.stats.framesIn);
    expect(sumSamples(samples, 'chatsim_gateway_frames_in_total', { gateway: 'gw1', type: 'send' })).toBe(3);
    expect(sumSamples(samples, 'chatsim_gateway_frames_in_total', { gateway: 'gw1', type: 'other' })).toBe(1);
    expect(sumSamples(samples, 'chatsim_gateway_frames_out_total')).toBe(gw1!.stats.framesOut + gw2!.stats.framesOut);
    expect(sumSamples(samples, 'chatsim_gateway_frames_out_total', { gateway: 'gw1', type: 'sent' })).toBe(3);
    expect(sumSamples(samples, 'chatsim_gateway_frames_out_total', { gateway: 'gw2', type: 'message' })).toBe(3);
    expect(sumSamples(samples, 'chatsim_chat_messages_stored_total')).toBe(3);
    const chatErrors = new Map<string, number>();
    for (const server of h.cluster.chatServers) for (const [code, n] of server.stats.errorsByCode) chatErrors.set(code, (chatErrors.get(code) ?? 0) + n);
    for (const [code, n] of chatErrors) expect(sumSamples(samples, 'chatsim_chat_errors_total', { code }), code).toBe(n);
    expect(chatErrors.size).toBeGreaterThan(0);
    expect(sumSamples(samples, 'chatsim_store_operation_seconds_count', { operation: 'append', outcome: 'ok' })).toBe(3);
    expect(sumSamples(samples, 'chatsim_broker_publishes_total', { channel: 'gateway', outcome: 'ok' })).toBeGreaterThanOrEqual(6);
    expect(sumSamples(samples, 'chatsim_presence_transitions_total', { to: 'online' })).toBe(h.cluster.presenceService.stats.onlineBroadcasts);
    // Every entry handed out was finished: enqueued - acked - dead-lettered is the depth, 0 when idle.
    expect(sumSamples(samples, 'chatsim_queue_enqueued_total')).toBe(sumSamples(samples, 'chatsim_queue_acked_total'));
    expect(sumSamples(samples, 'chatsim_queue_wait_seconds_count')).toBe(sumSamples(samples, 'chatsim_queue_acked_total'));
    expect(sumSamples(samples, 'chatsim_http_requests_total', { class: '2xx' })).toBeGreaterThan(0);

    const om = await fetch(`${h.httpUrl}/metrics`, { headers: { authorization: 'Bearer metrics-admin', accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(om.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);

    const targets = await fetch(`${h.httpUrl}/v1/admin/metrics-targets`, { headers: { 'x-admin-token': 'metrics-admin' } });
    expect(await targets.json()).toEqual([{ targets: [new URL(h.httpUrl).host], labels: { chatsim_node: 'cluster', chatsim_role: 'cluster' } }]);
    expect((await fetch(`${h.httpUrl}/v1/admin/metrics-targets`)).status).toBe(403);
  });

  it('counts closes by code and rate-limit refusals', async () => {
    h = await startHarness({ adminToken: 'metrics-admin', limits: { framesPerSecondMax: 2, framesBurstMax: 2, rateLimitDropsBeforeCloseMax: 3 } });
    const alice = await h.connect('alice');
    for (let i = 0; i < 12; i++) alice.send({ type: 'presence_query', id: `q${i}`, users: [] });
    await alice.until(() => (alice.closeCode !== undefined ? true : undefined));
    const samples = parsePromText(await (await fetch(`${h.httpUrl}/metrics`, { headers: { authorization: 'Bearer metrics-admin' } })).text());
    expect(sumSamples(samples, 'chatsim_gateway_rate_limited_total', { gateway: 'gw1' })).toBeGreaterThanOrEqual(4);
    expect(sumSamples(samples, 'chatsim_gateway_closes_total', { gateway: 'gw1', code: '4429' })).toBe(1);
    expect(sumSamples(samples, 'chatsim_gateway_errors_total', { gateway: 'gw1', code: 'RATE_LIMITED' })).toBeGreaterThanOrEqual(3);
  });
});
