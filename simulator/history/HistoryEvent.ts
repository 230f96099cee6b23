/**
 * One run's history: an append-only list of events, in the shape PROPERTIES.md describes
 * (Jepsen-style invoke / ok / fail / info for operations, observations, and oracle events
 * for the harness's ground truth). Checkers read it; they never drive the run.
 *
 * `t` is ms since the run started (on the run's clock); `p` is the process: a device
 * (`user/device`) or `harness`.
 */
export type HistoryEvent =
  // operations
  | { t: number; p: string; type: 'invoke'; op: 'send'; chat: string; clientMsgId: string; body: string }
  | { t: number; p: string; type: 'ok'; op: 'send'; chat: string; clientMsgId: string; seq: number; msgId: string }
  | { t: number; p: string; type: 'fail'; op: 'send'; chat: string; clientMsgId: string; code: string }
  | { t: number; p: string; type: 'info'; op: 'send'; chat: string; clientMsgId: string; reason: string }
  | { t: number; p: string; type: 'invoke'; op: 'sync'; mode: 'watermark' | 'token'; id: string }
  | { t: number; p: string; type: 'ok'; op: 'sync'; mode: 'watermark' | 'token'; id: string; messages: number; hasMore: boolean }
  // observations
  /** `storedAt`: when the server stored the message (its `ts`), in ms since the run start. */
  | { t: number; p: string; type: 'render'; chat: string; seq: number; from: string; clientMsgId: string; via: 'push' | 'sync'; storedAt?: number }
  | { t: number; p: string; type: 'tick'; chat: string; clientMsgId: string; seq: number; tick: 'sent' | 'delivered' | 'read' }
  | { t: number; p: string; type: 'receipt-out'; chat: string; kind: 'delivered' | 'read'; upTo: number; piggyback: boolean }
  | { t: number; p: string; type: 'presence-seen'; user: string; online: boolean }
  | { t: number; p: string; type: 'typing-seen'; chat: string; user: string }
  | { t: number; p: string; type: 'gap'; chat: string; expected: number; got: number }
  | { t: number; p: string; type: 'connect'; gateway: string }
  | { t: number; p: string; type: 'disconnect'; code: number; reason: string }
  | { t: number; p: string; type: 'error-frame'; code: string; ref?: string }
  // oracle (harness ground truth)
  | { t: number; p: 'harness'; type: 'oracle'; what: 'link-up' | 'link-down'; device: string }
  | { t: number; p: 'harness'; type: 'oracle'; what: 'member'; chat: string; user: string; joinedAtSeq: number }
  | { t: number; p: 'harness'; type: 'oracle'; what: 'fault-start' | 'fault-end'; fault: string }
  | { t: number; p: 'harness'; type: 'oracle'; what: 'phase'; phase: 'load' | 'heal' | 'quiesce' | 'done' };

/** Where phones and the harness write their events. Must not throw and must be cheap. */
export interface HistoryRecorder {
  record(event: HistoryEvent): void;
}
