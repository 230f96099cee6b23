// Limit pairs that cannot hold together: each makes the correct cluster fail its own properties
// (or refuse the scenario's own load), so a scenario that sets them is refused at load time.
import { resolveLimits, type ServerLimits } from '../../server/protocol/limits.ts';
import type { Scenario } from './Scenario.ts';

/** The stable code of every error below (docs/cli.md, "Scenario errors"). */
export const CONTRADICTORY_LIMITS = 'CONTRADICTORY_LIMITS';

/** Room for a send frame's JSON around its body: type, field names, a 128-char chat id (clientMsgId counted apart). */
export const SEND_FRAME_OVERHEAD_BYTES = 256;
/** Room a pushed message frame needs besides its body (ids, sender, device, timestamps). */
export const MESSAGE_FRAME_OVERHEAD_BYTES = 1_024;

export interface LimitContradiction {
  path: string;
  message: string;
  code: typeof CONTRADICTORY_LIMITS;
}

/**
 * Every contradictory pair among the cluster's limits (the scenario's overrides over the
 * defaults) and between them and the scenario's own load and length. A scenario aimed at a
 * running cluster (`target`) sets no limits, so nothing is checked for it.
 */
export function contradictoryLimits(s: Scenario): LimitContradiction[] {
  if (s.target) return [];
  const l: ServerLimits = resolveLimits({ ...s.cluster.limits, presenceDebounceMs: s.cluster.presenceDebounceMs });
  const found: LimitContradiction[] = [];
  const refuse = (field: string, message: string): void => { found.push({ path: field.includes('.') ? field : `cluster.limits.${field}`, message, code: CONTRADICTORY_LIMITS }); };
  if (l.presenceTtlMs <= l.heartbeatTimeoutMs + l.heartbeatSweepIntervalMs) {
    refuse('presenceTtlMs', `${l.presenceTtlMs} ms is at or below heartbeatTimeoutMs + heartbeatSweepIntervalMs (${l.heartbeatTimeoutMs} + ${l.heartbeatSweepIntervalMs} ms): a connection the gateway still holds would lose its presence entry, and friends would see a connected user go offline`);
  }
  if (l.heartbeatIntervalMs >= l.heartbeatTimeoutMs) {
    refuse('heartbeatIntervalMs', `${l.heartbeatIntervalMs} ms is not below heartbeatTimeoutMs (${l.heartbeatTimeoutMs} ms): a quiet phone pinging as told would be closed as silent between its pings`);
  }
  if (l.frameBytesMax > l.frameBytesHardMax) {
    refuse('frameBytesMax', `${l.frameBytesMax} bytes is above frameBytesHardMax (${l.frameBytesHardMax}): frames between the two close the connection (1009) instead of getting FRAME_TOO_LARGE`);
  }
  const sendFrameBytes = l.bodyBytesMax + l.clientMsgIdCharsMax + SEND_FRAME_OVERHEAD_BYTES;
  if (sendFrameBytes > l.frameBytesMax) {
    const field = s.cluster.limits.frameBytesMax !== undefined ? 'frameBytesMax' : 'bodyBytesMax';
    refuse(field, `a send frame with the largest body (bodyBytesMax ${l.bodyBytesMax} + clientMsgIdCharsMax ${l.clientMsgIdCharsMax} + ${SEND_FRAME_OVERHEAD_BYTES} bytes of JSON) does not fit in frameBytesMax (${l.frameBytesMax}): such a message could never be sent`);
  }
  if (l.bodyBytesMax + MESSAGE_FRAME_OVERHEAD_BYTES > l.sendBufferBytesMax) {
    refuse('sendBufferBytesMax', `${l.sendBufferBytesMax} bytes cannot buffer one message push with the largest body (bodyBytesMax ${l.bodyBytesMax} + ${MESSAGE_FRAME_OVERHEAD_BYTES}): every recipient would be closed as a slow consumer`);
  }
  if (l.tokenTtlMs <= s.durationMs + s.healMs) {
    refuse('tokenTtlMs', `${l.tokenTtlMs} ms is not longer than the run (durationMs + healMs = ${s.durationMs + s.healMs} ms): phones reconnecting after it are refused (TOKEN_EXPIRED) and cannot converge`);
  }
  if (s.load.bodyBytes.max > l.bodyBytesMax) {
    refuse('load.bodyBytes.max', `${s.load.bodyBytes.max} bytes is above cluster.limits.bodyBytesMax (${l.bodyBytesMax}): the load's own messages would be refused (BODY_TOO_LARGE)`);
  }
  return found;
}
