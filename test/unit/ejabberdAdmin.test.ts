/**
 * EjabberdAdmin's reading of answers it cannot get from a correctly configured ejabberd
 * (refused by api_permissions, an answer that is not JSON, a rescode that is not 0), with an
 * injected fetch. The answers of a real ejabberd are in test/xmpp/ejabberd.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { EjabberdAdmin } from '../../simulator/targets/ejabberd/EjabberdAdmin.ts';

function adminAnswering(status: number, body: string, seen: { url?: string; body?: string } = {}): EjabberdAdmin {
  const fetchImpl = (async (url: string, init: { body: string }) => {
    seen.url = url;
    seen.body = init.body;
    return new Response(body, { status });
  }) as unknown as typeof fetch;
  return new EjabberdAdmin({ baseUrl: 'http://127.0.0.1:1/api/', domain: 'example.test', fetchImpl });
}

describe('EjabberdAdmin answers', () => {
  it('posts the command as JSON to <baseUrl>/<command>', async () => {
    const seen: { url?: string; body?: string } = {};
    expect(await adminAnswering(200, '0', seen).addRosterItem('a', 'b', 'both')).toEqual({ ok: true, value: undefined });
    expect(seen.url).toBe('http://127.0.0.1:1/api/add_rosteritem');
    expect(JSON.parse(seen.body!)).toEqual({ localuser: 'a', localhost: 'example.test', user: 'b', host: 'example.test', nick: 'b', group: 'friends', subs: 'both' });
  });

  it('a refusal by api_permissions is not_allowed', async () => {
    const result = await adminAnswering(403, '{"status":"error","code":32,"message":"AccessRules: Account does not have the right to perform the operation."}').register('a', 'x');
    expect(result).toMatchObject({ ok: false, error: { code: 'not_allowed', ejabberdCode: 32, httpStatus: 403 } });
  });

  it('an answer that is not JSON is bad_response', async () => {
    expect(await adminAnswering(200, '<html>').status()).toMatchObject({ ok: false, error: { code: 'bad_response' } });
  });

  it('a rescode other than 0 is command_failed', async () => {
    expect(await adminAnswering(200, '1').setRoomAffiliation('r', 'a', 'member')).toMatchObject({ ok: false, error: { code: 'command_failed', command: 'set_room_affiliation' } });
  });

  it('a room provisioning stops at the first failure and names the command', async () => {
    const result = await adminAnswering(400, '"Room already exists"').provisionRoom('r', ['a', 'b']);
    expect(result).toMatchObject({ ok: false, error: { code: 'room_exists', command: 'create_room_with_opts' } });
  });
});
