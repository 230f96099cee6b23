// HTTP and upgrade fuzz: generated requests written byte for byte on raw TCP to every port of a
// cluster (the HTTP API and each gateway): odd request targets, methods, headers and bodies, as
// plain requests and as WebSocket upgrades. Every complete request must get an answer that is not
// a 5xx, within the deadline; every port must still serve afterwards; no process may die.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import WebSocket from 'ws';
import { ConformanceAudit, type Finding } from './ConformanceAudit.ts';
import { HealthWatch, type HealthReport } from './HealthWatch.ts';
import { nest } from './frameArbitraries.ts';
import { documentedProtocol } from './protocolDoc.ts';
import { setUpPopulation } from './setupUsers.ts';
import { sleep, type FuzzTarget } from './targets.ts';

export interface HttpFuzzOptions {
  requests: number;
  seed: number;
  concurrency?: number;
  /** How long a complete request may wait for its answer, in ms. */
  answerDeadlineMs?: number;
  hangAfterSlowPolls?: number;
  userPrefix?: string;
  log?: (line: string) => void;
}

export interface HttpFuzzReport {
  target: string;
  seed: number;
  durationMs: number;
  requests: number;
  byPort: Record<string, number>;
  upgrades: number;
  incomplete: number;
  statuses: Record<string, number>;
  /** Answers that were a closed connection without a status line. */
  closedWithoutAnswer: number;
  health: HealthReport;
  findings: Finding[];
  aborted?: string;
  passed: boolean;
}

/** One generated request: the bytes, and whether the server has all it needs to answer. */
export interface FuzzRequest {
  bytes: Buffer;
  /** False when the request announces more body than it sends (the server may rightly wait). */
  complete: boolean;
  upgrade: boolean;
  summary: string;
}

const ODD_TARGETS = [
  '//', '///', '//:99999', '//[', '//]', '//@', '//:', '//?', '//#', '/%00', '/v1/health%00', '/%', '/%zz', '/%E0%A4%A', '/v1/chats/%ff%fe',
  '*', 'http://127.0.0.1/v1/health', 'http://[::1', 'https://x:99999/', 'ws://x/', 'HTTP://A', '\\', '/\\', '?', '/?token=', '/?token=%', '/?token=%zz&token=a',
  '/v1//health', '//v1/health', '/v1/../v1/health', '/./v1/health', '/v1/health?', '/v1/health#x', '/v1/chats/__proto__', '/v1/chats/constructor/messages',
  '/v1/chats/__proto__/members/constructor', '/v1/chats/x/messages?after=-1&limit=1e400', '/v1/chats/x/messages?after=__proto__&limit=[]', '/v1/users/%2e%2e',
  '/v1/me?__proto__[x]=1', '/v1/gateways?token=' + 'a'.repeat(5000), '/ünïcödé', '/😀', '/v1/chats/d%3Aa%3Ab', '/' + 'a'.repeat(9000), '/' + 'b/'.repeat(4000),
];
const ROUTES = ['/v1/users', '/v1/login', '/v1/me', '/v1/friends', '/v1/chats', '/v1/chats/g:x', '/v1/chats/g:x/members', '/v1/chats/g:x/members/u', '/v1/chats/g:x/messages', '/v1/health', '/v1/gateways', '/v1/admin/provision', '/v1/admin/restart-chat-servers', '/v1/admin/metrics-targets', '/metrics', '/'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'SEARCH', 'QUERY', 'BREW', 'get', 'G\tT', 'X'.repeat(300), '__proto__', 'CONSTRUCTOR'];

interface Ctx { token: string; host: string }

export function requestArbitrary(ctx: Ctx): fc.Arbitrary<FuzzRequest> {
  const target = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ODD_TARGETS) },
    { weight: 3, arbitrary: fc.constantFrom(...ROUTES) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...ROUTES), fc.string({ unit: 'binary', maxLength: 20 })).map(([r, s]) => r + '/' + [...s].filter((c) => c.codePointAt(0)! > 0x20).join('')) },
    { weight: 1, arbitrary: fc.integer({ min: 8_000, max: 80_000 }).map((n) => '/v1/health?x=' + 'x'.repeat(n)) },
  );
  const method = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH') }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) });
  const auth = fc.constantFrom<string | undefined>(undefined, undefined, `Bearer ${ctx.token}`, `bearer ${ctx.token}`, 'Bearer', 'Bearer ', 'Bearer x.y', `Bearer ${ctx.token}junk`, 'Basic YTpi', `Bearer ${'a'.repeat(10_000)}`, 'Bearer __proto__');
  const contentType = fc.constantFrom<string | undefined>(undefined, 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', '__proto__', '');
  const body = fc.oneof(
    fc.constant(Buffer.alloc(0)),
    fc.constantFrom('{}', '[]', 'null', '1', '"x"', 'true', '{"id":"u","password":"p"}', '{"user":"u","password":"p"}', '{"__proto__":{"id":"x"},"id":"__proto__","password":"p"}',
      '{"id":{"__proto__":1},"password":[]}', '{"users":[{"id":"constructor","password":"p"}],"chats":[{"kind":"__proto__","members":{}}]}', '{"kind":"group","members":["__proto__","constructor"]}',
      '{"name":"\\ud800"}', '{"id":"\\u0000\\u001b[2J","password":"p"}', '{', '{"a":1,}', '\ufeff{}').map((s) => Buffer.from(s)),
    fc.constantFrom(20_000, 5_000, 100_000).chain((d) => fc.constantFrom('array', 'object').map((style) => Buffer.from(`{"id":${nest(d, style)},"password":"p","name":${nest(d, style)}}`))),
    fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    fc.constantFrom(300 * 1024, 1024 * 1024).map((n) => Buffer.alloc(n, 0x20)),
  );
  const framing = fc.constantFrom('length', 'length', 'length', 'none', 'chunked', 'bad-chunked', 'short-length', 'two-lengths', 'negative-length', 'huge-length');
  const extraHeaders = fc.array(fc.constantFrom(
    'X-Admin-Token: chatsim-admin', 'x-admin-token: ', '__proto__: 1', 'constructor: x', 'Expect: 100-continue', 'Connection: keep-alive', 'Host: ', 'Host: [::1', 'X-Long: ' + 'l'.repeat(20_000),
    'Transfer-Encoding: gzip', 'Content-Encoding: gzip', 'Accept: */*', 'X-Unicode: ünï', 'X-Space : x', ' X-Fold: x',
  ), { maxLength: 3 });
  const upgrade = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.record({
      auth: fc.constantFrom('header', 'query', 'none', 'bad'), protocol: fc.constantFrom<string | undefined>('chatsim.v1', 'chatsim.v1', undefined, 'other', 'chatsim.v1, x', ''),
      version: fc.constantFrom<string | undefined>('13', '13', '8', undefined, 'x'), key: fc.constantFrom('valid', 'valid', 'missing', 'short'),
    }) },
  );
  const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 x');
  return fc.record({ target, method, auth, contentType, body, framing, extraHeaders, upgrade, version }).map((r) => {
    let path = r.target;
    const headers: string[] = [];
    if (!r.extraHeaders.some((h) => h.startsWith('Host'))) headers.push(`Host: ${ctx.host}`);
    if (r.upgrade) {
      headers.push('Upgrade: websocket', 'Connection: Upgrade');
      if (r.upgrade.version) headers.push(`Sec-WebSocket-Version: ${r.upgrade.version}`);
      if (r.upgrade.key !== 'missing') headers.push(`Sec-WebSocket-Key: ${r.upgrade.key === 'valid' ? randomBytes(16).toString('base64') : 'c2hvcnQ='}`);
      if (r.upgrade.protocol !== undefined) headers.push(`Sec-WebSocket-Protocol: ${r.upgrade.protocol}`);
      if (r.upgrade.auth === 'header') headers.push(`Authorization: Bearer ${ctx.token}`);
      if (r.upgrade.auth === 'bad') headers.push('Authorization: Bearer x');
      if (r.upgrade.auth === 'query') path += `${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(ctx.token)}`;
    } else if (r.auth) headers.push(`Authorization: ${r.auth}`);
    if (r.contentType !== undefined) headers.push(`Content-Type: ${r.contentType}`);
    headers.push(...r.extraHeaders);
    let body = r.body;
    let complete = true;
    switch (r.framing) {
      case 'length': headers.push(`Content-Length: ${body.length}`); break;
      case 'none': body = Buffer.alloc(0); break;
      case 'chunked': headers.push('Transfer-Encoding: chunked'); body = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]); break;
      case 'bad-chunked': headers.push('Transfer-Encoding: chunked'); body = Buffer.concat([Buffer.from('zz\r\n'), body.subarray(0, 16), Buffer.from('\r\n')]); break;
      case 'short-length': headers.push(`Content-Length: ${body.length + 10}`); complete = false; break;
      case 'two-lengths': headers.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`); break;
      case 'negative-length': headers.push('Content-Length: -1'); break;
      default: headers.push('Content-Length: 99999999999999999999'); complete = false; break;
    }
    // Node refuses a body on an upgrade it accepts: the bytes after the head belong to the WebSocket.
    if (r.upgrade) body = Buffer.alloc(0);
    const head = `${r.method} ${path} ${r.version}\r\n${headers.join('\r\n')}\r\n\r\n`;
    return {
      bytes: Buffer.concat([Buffer.from(head, 'utf8'), body]), complete, upgrade: r.upgrade !== undefined,
      summary: `${r.method.slice(0, 20)} ${path.slice(0, 60)}${r.upgrade ? ` upgrade(${JSON.stringify(r.upgrade)})` : ''} ${r.framing} ${body.length} B`,
    };
  });
}

export interface RawAnswer { status?: number; body: string; contentType?: string; closed: boolean; timedOut: boolean }

/** Writes the bytes on a fresh connection and reads the first final answer (1xx other than 101 skipped). */
export function rawRequest(host: string, port: number, bytes: Buffer, timeoutMs: number): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: RawAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish({ ...parse(data), timedOut: true, closed: false }), timeoutMs);
    socket.on('error', () => finish({ ...parse(data), timedOut: false, closed: true }));
    socket.on('close', () => finish({ ...parse(data), timedOut: false, closed: true }));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const answer = parse(data);
      if (answer.status !== undefined && (answer.status === 101 || answer.bodyComplete)) finish({ ...answer, timedOut: false, closed: false });
    });
    socket.write(bytes, () => undefined);
  });
}

function parse(data: Buffer): { status?: number; body: string; contentType?: string; bodyComplete?: boolean } {
  let rest = data;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return { body: '' };
    const head = rest.subarray(0, end).toString('latin1');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    if (!Number.isFinite(status)) return { body: '' };
    if (status >= 100 && status < 200 && status !== 101) {
      rest = rest.subarray(end + 4);
      continue;
    }
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    const contentType = /\r\ncontent-type: *([^\r]*)/i.exec(head)?.[1];
    const body = rest.subarray(end + 4);
    return { status, body: body.toString('utf8'), ...(contentType ? { contentType } : {}), bodyComplete: length === undefined ? false : body.length >= Number(length) };
  }
}

export async function runHttpFuzz(target: FuzzTarget, options: HttpFuzzOptions): Promise<HttpFuzzReport> {
  const log = options.log ?? (() => undefined);
  const audit = new ConformanceAudit(documentedProtocol());
  const started = Date.now();
  const population = await setUpPopulation(target, 2, options.userPrefix ?? 'hf');
  const health = new HealthWatch(target.httpUrl);
  const ports = [target.httpUrl, ...target.gatewayUrls].map((u) => new URL(u));
  const samples = fc.sample(requestArbitrary({ token: population.fuzz[0]!.token, host: ports[0]!.host }), { seed: options.seed, numRuns: options.requests });
  const report = { byPort: {} as Record<string, number>, upgrades: 0, incomplete: 0, statuses: {} as Record<string, number>, closedWithoutAnswer: 0 };
  const hangAfter = options.hangAfterSlowPolls ?? 3;
  let aborted: string | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < samples.length && !aborted) {
      const i = next++;
      const req = samples[i]!;
      const port = ports[i % ports.length]!;
      const portName = i % ports.length === 0 ? 'api' : `gateway${i % ports.length}`;
      report.byPort[portName] = (report.byPort[portName] ?? 0) + 1;
      if (req.upgrade) report.upgrades++;
      if (!req.complete) report.incomplete++;
      const answer = await rawRequest(port.hostname, Number(port.port), req.bytes, req.complete ? options.answerDeadlineMs ?? 10_000 : 500);
      judge(audit, req, answer, portName, report);
      const deaths = target.deaths();
      if (deaths.length > 0) aborted = `crash after ${req.summary}: ${deaths[0]}`;
      else if (health.report.slowStreakMax >= hangAfter) aborted = `hang: ${health.report.slowSamples.join('; ')}`;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  if (aborted) log(`  aborted: ${aborted}`);
  // Every port still serves: the API answers health, each gateway greets a valid upgrade.
  if (!aborted) {
    for (const [i, url] of target.gatewayUrls.entries()) {
      if (!(await greets(url, population.fuzz[1]!.token))) audit.flag('port-dead', `gateway ${i + 1} (${url}) does not greet a valid upgrade after the fuzz`);
    }
  }
  const healthReport = await health.stop();
  for (const d of target.deaths()) audit.flag('crash', d);
  if (healthReport.slowStreakMax >= hangAfter) audit.flag('hang', healthReport.slowSamples.join('; '));
  const findings = audit.list();
  return {
    target: target.name, seed: options.seed, durationMs: Date.now() - started, requests: samples.length, ...report, health: healthReport, findings,
    ...(aborted ? { aborted } : {}), passed: findings.length === 0 && !aborted,
  };
}

function judge(audit: ConformanceAudit, req: FuzzRequest, answer: RawAnswer, port: string, report: { statuses: Record<string, number>; closedWithoutAnswer: number }): void {
  const key = answer.status === undefined ? (answer.timedOut ? 'no answer' : 'closed') : String(answer.status);
  report.statuses[key] = (report.statuses[key] ?? 0) + 1;
  if (answer.status === undefined) {
    if (answer.closed) report.closedWithoutAnswer++;
    if (answer.timedOut && req.complete) audit.flag('http-no-answer', `${port}: ${req.summary}`);
    return;
  }
  if (answer.status >= 500) audit.flag('http-500', `${port}: ${answer.status} for ${req.summary}: ${answer.body.slice(0, 120)}`);
  // 101 is the accepted upgrade of section 1 ("On success"): right for an upgrade request only.
  else if (answer.status === 101 ? !req.upgrade : !audit.doc.httpStatuses.has(answer.status)) audit.flag('undocumented-http-status', `${port}: ${answer.status} for ${req.summary}`);
  if (answer.contentType?.startsWith('application/json') && answer.body) {
    try {
      const code = (JSON.parse(answer.body) as { error?: { code?: unknown } }).error?.code;
      if (code !== undefined && !audit.doc.errorCodes.has(String(code))) audit.flag('undocumented-http-error-code', `${port}: ${String(code)} for ${req.summary}`);
    } catch { /* a cut body (HEAD, a dropped connection): nothing to read */ }
  }
}

/** A valid upgrade with the token gets `hello`. */
async function greets(url: string, token: string): Promise<boolean> {
  const ws = new WebSocket(`${url}/?token=${encodeURIComponent(token)}`, 'chatsim.v1');
  ws.on('error', () => undefined);
  const ok = await Promise.race([
    new Promise<boolean>((resolve) => {
      ws.on('message', (d) => { if (String(d).startsWith('{"type":"hello"')) resolve(true); });
      ws.once('close', () => resolve(false));
    }),
    sleep(10_000).then(() => false),
  ]);
  ws.terminate();
  return ok;
}
