// A node process of a ProcessCluster (server/process/ProcessCluster.ts): register the tsx
// loader, then run the TypeScript node named by CHATSIM_NODE_SPEC.
import { register } from 'tsx/esm/api';

register();
const { runNode } = await import('./runNode.ts');
await runNode();
