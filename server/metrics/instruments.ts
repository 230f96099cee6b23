// The cluster's metrics, declared once per process through the Metrics port (docs/metrics.md
// lists them). Parts take the instruments they record into; none imports prom-client.
import { LATENCY_BUCKETS_SECONDS, type Metrics } from '../ports/Metrics.ts';

export function gatewayInstruments(metrics: Metrics) {
  return {
    connections: metrics.gauge({ name: 'chatsim_gateway_connections', help: 'WebSocket connections the gateway holds now', labelNames: ['gateway'] }),
    accepted: metrics.counter({ name: 'chatsim_gateway_connections_accepted_total', help: 'Connections the gateway took over after admission', labelNames: ['gateway'] }),
    framesIn: metrics.counter({ name: 'chatsim_gateway_frames_in_total', help: 'Data frames received from clients, by frame type (other: not a known type)', labelNames: ['gateway', 'type'] }),
    framesOut: metrics.counter({ name: 'chatsim_gateway_frames_out_total', help: 'Frames written to clients, by frame type', labelNames: ['gateway', 'type'] }),
    closes: metrics.counter({ name: 'chatsim_gateway_closes_total', help: 'Connections the gateway closed, by close code', labelNames: ['gateway', 'code'] }),
    disconnects: metrics.counter({ name: 'chatsim_gateway_disconnects_total', help: 'Connections that ended, by the close code the socket saw (1006: dropped without a closing handshake)', labelNames: ['gateway', 'code'] }),
    errors: metrics.counter({ name: 'chatsim_gateway_errors_total', help: 'Error frames the gateway itself sent, by error code', labelNames: ['gateway', 'code'] }),
    rateLimited: metrics.counter({ name: 'chatsim_gateway_rate_limited_total', help: 'Frames refused by the per-connection rate limit (token bucket)', labelNames: ['gateway'] }),
    enqueued: metrics.counter({ name: 'chatsim_queue_enqueued_total', help: 'Frames the gateway put on the inbound queue', labelNames: ['gateway'] }),
    enqueueRefused: metrics.counter({ name: 'chatsim_queue_enqueue_refused_total', help: 'Frames the inbound queue refused (key full: TOO_MANY_PENDING) or could not take (UNAVAILABLE)', labelNames: ['gateway', 'reason'] }),
    deliveries: metrics.counter({ name: 'chatsim_gateway_deliveries_total', help: 'Payloads that arrived on the gateway\'s broker channel', labelNames: ['gateway'] }),
    stalePresencePushes: metrics.counter({ name: 'chatsim_gateway_presence_pushes_stale_total', help: 'Presence pushes not written: numbered below the last push written about the same user (a broker duplicate or reorder)', labelNames: ['gateway'] }),
  };
}

export type GatewayInstruments = ReturnType<typeof gatewayInstruments>;

export function chatServerInstruments(metrics: Metrics) {
  return {
    frames: metrics.counter({ name: 'chatsim_chat_frames_handled_total', help: 'Queue entries a chat server began to handle, by frame type (invalid: refused by validation; redeliveries counted again)', labelNames: ['type'] }),
    acked: metrics.counter({ name: 'chatsim_queue_acked_total', help: 'Queue entries whose handling finished (the queue acknowledges them)' }),
    deadLetters: metrics.counter({ name: 'chatsim_queue_dead_letters_total', help: 'Queue entries given up on after poisonAttemptsMax attempts' }),
    inFlight: metrics.gauge({ name: 'chatsim_chat_frames_in_flight', help: 'Queue entries the chat servers of this process are handling now' }),
    queueWait: metrics.histogram({ name: 'chatsim_queue_wait_seconds', help: 'Age of a queue entry when a chat server began handling it (gateway enqueue to hand-out, across processes on one host\'s clock)', bucketsSeconds: LATENCY_BUCKETS_SECONDS }),
    handle: metrics.histogram({ name: 'chatsim_chat_frame_handle_seconds', help: 'Time a chat server took to handle a frame, by frame type', labelNames: ['type'], bucketsSeconds: LATENCY_BUCKETS_SECONDS }),
    errors: metrics.counter({ name: 'chatsim_chat_errors_total', help: 'Error frames the chat servers sent, by error code', labelNames: ['code'] }),
    staleTypingDropped: metrics.counter({ name: 'chatsim_chat_typing_dropped_stale_total', help: 'Typing frames not announced because they waited longer than typingNoticeAgeMaxMs' }),
    messagesStored: metrics.counter({ name: 'chatsim_chat_messages_stored_total', help: 'Sends the store took as new messages (a repeat of a stored send is not counted)' }),
  };
}

export type ChatServerInstruments = ReturnType<typeof chatServerInstruments>;

export function presenceInstruments(metrics: Metrics) {
  return {
    transitions: metrics.counter({ name: 'chatsim_presence_transitions_total', help: 'Presence changes announced to friends, by new state', labelNames: ['to'] }),
    debouncedFlaps: metrics.counter({ name: 'chatsim_presence_debounced_flaps_total', help: 'Offline announcements cancelled because the user came back within presenceDebounceMs' }),
  };
}

export type PresenceInstruments = ReturnType<typeof presenceInstruments>;

export function storeInstruments(metrics: Metrics) {
  return {
    latency: metrics.histogram({ name: 'chatsim_store_operation_seconds', help: 'Message store call latency as the caller saw it, by operation and outcome (ok, error)', labelNames: ['operation', 'outcome'], bucketsSeconds: LATENCY_BUCKETS_SECONDS }),
  };
}

export function brokerInstruments(metrics: Metrics) {
  return {
    publishes: metrics.counter({ name: 'chatsim_broker_publishes_total', help: 'Payloads published, by channel kind (gateway: gw:<id>; presence: presence-events) and outcome', labelNames: ['channel', 'outcome'] }),
    latency: metrics.histogram({ name: 'chatsim_broker_publish_seconds', help: 'Broker publish latency, by channel kind', labelNames: ['channel'], bucketsSeconds: LATENCY_BUCKETS_SECONDS }),
  };
}

export function httpInstruments(metrics: Metrics) {
  return {
    requests: metrics.counter({ name: 'chatsim_http_requests_total', help: 'HTTP API requests answered, by status class (2xx, 4xx, 5xx)', labelNames: ['class'] }),
    rateLimited: metrics.counter({ name: 'chatsim_http_rate_limited_total', help: 'Account requests refused with 429, by limit (register_per_address, login_failures)', labelNames: ['limit'] }),
  };
}

export type HttpInstruments = ReturnType<typeof httpInstruments>;

/** Frame types a label may carry; anything else is `other`, so client input cannot grow the series. */
export const FRAME_TYPES: ReadonlySet<string> = new Set([
  'send', 'ack', 'read', 'typing', 'sync', 'presence_query', 'ping',
  'hello', 'sent', 'message', 'receipt', 'presence', 'presence_result', 'sync_result', 'error', 'pong', 'resync',
]);

const TYPE_PREFIX = '{"type":"';
const TYPE_CHARS_MAX = 16;

/**
 * The frame type a metric label names, read from the text without parsing it: frames written as
 * `{"type":"<t>",...}` (every frame the cluster writes, and those chatsim's phones send) give
 * `<t>` when it is a known type; anything else is `other`. The gateway never parses frames.
 */
export function frameTypeLabel(text: string): string {
  if (!text.startsWith(TYPE_PREFIX)) return 'other';
  const end = text.indexOf('"', TYPE_PREFIX.length);
  if (end < 0 || end - TYPE_PREFIX.length > TYPE_CHARS_MAX) return 'other';
  const type = text.slice(TYPE_PREFIX.length, end);
  return FRAME_TYPES.has(type) ? type : 'other';
}

/** The broker channel kind a label may carry. */
export function channelLabel(channel: string): string {
  if (channel.startsWith('gw:')) return 'gateway';
  if (channel === 'presence-events') return 'presence';
  return 'other';
}
