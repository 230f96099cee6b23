// One link of an XmppConnection on an xmpp.js entity: our listeners on it (taken off again when
// the link is let go) and one login (connect, open the stream, wait for the session), with every
// outcome a value. Split from XmppConnection.ts, which keeps the session logic.
import type { TimeSource, TimerHandle } from '../../../server/ports/Clock.ts';
import type { XmppEntity } from './xmppEntity.ts';
import type { XmlElement } from './xmppTypes.ts';

export interface EntityListeners {
  error(err: Error): void;
  online(): void;
  disconnect(clean: boolean): void;
  stanza(stanza: XmlElement): void;
  nonza(element: XmlElement): void;
  /** XEP-0198 <resumed/> (xmpp.js sets the status back to online right after, in the same turn). */
  resumed(): void;
  ack(stanza: XmlElement): void;
  fail(stanza: XmlElement): void;
}

/** Attaches `listeners` to the entity and its stream management; answers how to take them off. */
export function attachListeners(entity: XmppEntity, listeners: EntityListeners): () => void {
  const offs: Array<() => void> = [];
  const on = (emitter: Pick<XmppEntity, 'on' | 'off'>, event: string, fn: (...args: never[]) => void): void => {
    emitter.on(event, fn);
    offs.push(() => emitter.off(event, fn));
  };
  const sm = entity.streamManagement as unknown as Pick<XmppEntity, 'on' | 'off'>;
  on(entity, 'error', listeners.error as never);
  on(entity, 'online', (() => listeners.online()) as never);
  on(entity, 'disconnect', ((info: { clean?: boolean } | undefined) => listeners.disconnect(info?.clean === true)) as never);
  on(entity, 'stanza', listeners.stanza as never);
  on(entity, 'nonza', listeners.nonza as never);
  on(sm, 'resumed', (() => listeners.resumed()) as never);
  on(sm, 'ack', listeners.ack as never);
  on(sm, 'fail', listeners.fail as never);
  return () => { for (const off of offs) off(); };
}

export type LoginOutcome = 'online' | 'dropped' | 'timeout' | { error: unknown };

/**
 * Connects, opens the stream and waits for `ready` (the session settled, or resumed), within
 * `timeoutMs`. A link that drops or an error xmpp.js reports meanwhile ends the attempt. Not
 * xmpp.js's entity.start(): it awaits the stream open and, separately, a promise of 'online'
 * that also rejects on 'error'; when the link fails while the stream opens both reject and the
 * second is awaited by nobody (an unhandled rejection: ECONNRESET in the Tsung benchmark).
 */
export async function login(entity: XmppEntity, service: string, domain: string, ready: Promise<void>, time: TimeSource, timeoutMs: number): Promise<LoginOutcome> {
  const offs: Array<() => void> = [];
  const until = <T>(event: string, value: (arg: unknown) => T): Promise<T> => new Promise<T>((resolve) => {
    const fn = ((arg: unknown) => resolve(value(arg))) as never;
    entity.on(event, fn);
    offs.push(() => entity.off(event, fn));
  });
  let timer: TimerHandle | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = time.schedule(timeoutMs, () => resolve('timeout'));
  });
  const opened = (async (): Promise<'online'> => {
    await entity.connect(service);
    await entity.open({ domain });
    await ready;
    return 'online';
  })();
  try {
    return await Promise.race([opened, timeout, until('disconnect', () => 'dropped' as const), until('error', (error) => ({ error }))]);
  } catch (error) {
    return { error };
  } finally {
    timer?.cancel();
    for (const off of offs) off();
  }
}
