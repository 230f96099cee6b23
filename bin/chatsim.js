#!/usr/bin/env node
// The chatsim command. The CLI is TypeScript; tsx compiles it on the fly so that
// `npm ci && npx chatsim` works without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv);
