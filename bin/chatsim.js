#!/usr/bin/env node
// The chatsim command. The CLI is TypeScript; tsx compiles it on the fly so that
// `npm ci && npx chatsim` works without a build step.
import { register } from 'tsx/esm/api';

register();
// `chatsim check run | head`: a reader that went away is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv);
