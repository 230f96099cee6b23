import type { FaultSpec } from './Scenario.ts';

/**
 * A fault as a person reads it on a chart: "chat servers crashed", "gateway 1 partitioned".
 * Kinds without a phrase of their own read as their kind and fields ("kind (field value)").
 */
export function faultLabel(fault: FaultSpec): string {
  switch (fault.kind) {
    case 'restart-chat-servers': return fault.crash ? 'chat servers crashed (restart)' : 'chat servers restarted (graceful)';
    case 'crash-gateway': return `gateway ${fault.gateway} crashed`;
    case 'pause-gateway': return `gateway ${fault.gateway} paused`;
    case 'partition-gateway': return `gateway ${fault.gateway} partitioned`;
    case 'pause-chat-server': return `chat server ${fault.chatServer} paused`;
    case 'kill-chat-server': return `chat server ${fault.chatServer} killed`;
    case 'lose-broker-messages': return `broker loses ${Math.round(fault.share * 100)}%`;
    case 'restart-target': return fault.forMs > 0 ? `target restarted (down ${fault.forMs} ms)` : 'target restarted';
    default: return genericLabel(fault as { kind: string } & Record<string, unknown>);
  }
}

function genericLabel(fault: { kind: string } & Record<string, unknown>): string {
  const fields = Object.entries(fault).filter(([k, v]) => k !== 'kind' && k !== 'atMs' && k !== 'forMs' && (typeof v === 'number' || typeof v === 'string'));
  return fields.length === 0 ? fault.kind : `${fault.kind} (${fields.map(([k, v]) => `${k} ${String(v)}`).join(', ')})`;
}
