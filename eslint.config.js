// Lint rules. The one that matters most: server/ and simulator/ logic never touches the
// wall clock, real timers or Math.random; it takes them from the injected ports so the same
// code runs live and in the deterministic simulation engine.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const clockPort = 'the injected Clock port (server/ports/Clock.ts): clock.nowMs()';
const timersPort = 'the injected Timers port (server/ports/Clock.ts): timers.schedule(delayMs, fn)';
const randomPort = 'the injected Random port (server/ports/Random.ts): random.nextFloat()';
const timePaths = [
  { name: 'node:timers', message: `Use ${timersPort}.` },
  { name: 'timers', message: `Use ${timersPort}.` },
  { name: 'node:timers/promises', message: `Use ${timersPort}.` },
  { name: 'node:perf_hooks', importNames: ['performance'], message: `Use ${clockPort}.` },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'reports/**', 'coverage/**', 'dist/**', '.bench-cache/**'] },
  js.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Tests poke at decoded JSON frames; typing every shape there buys nothing.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['server/**/*.ts', 'simulator/**/*.ts'],
    ignores: ['server/runtime/**', 'simulator/runtime/**'],
    rules: {
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: `Use ${clockPort}.` },
        { object: 'Math', property: 'random', message: `Use ${randomPort}.` },
        { object: 'performance', property: 'now', message: `Use ${clockPort}.` },
        { object: 'globalThis', property: 'setTimeout', message: `Use ${timersPort}.` },
        { object: 'globalThis', property: 'setInterval', message: `Use ${timersPort}.` },
      ],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: `Use ${timersPort}.` },
        { name: 'setInterval', message: `Use ${timersPort}.` },
        { name: 'setImmediate', message: `Use ${timersPort}.` },
        { name: 'performance', message: `Use ${clockPort}.` },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `new Date() reads the wall clock. Use ${clockPort}.` },
      ],
      'no-restricted-imports': ['error', { paths: timePaths }],
    },
  },
  {
    // The phone's app model speaks intents and hears events through a driver
    // (simulator/drivers/PhoneDriver.ts); it knows no wire protocol. chatsim.v1's frames live in
    // its driver (simulator/drivers/chatsimV1), so the same phone can drive another protocol.
    files: ['simulator/phone/**/*.ts', 'simulator/drivers/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: timePaths,
        patterns: [
          { group: ['**/server/protocol', '**/server/protocol/**'], message: 'The phone app model is protocol-free: put wire-protocol code in a driver (simulator/drivers/<protocol>/).' },
          { group: ['**/drivers/chatsimV1', '**/drivers/chatsimV1/**'], message: 'The phone app model talks to any driver through simulator/drivers/PhoneDriver.ts; whoever builds a phone picks the driver.' },
        ],
      }],
    },
  },
  {
    // Server logic records metrics through the Metrics port (server/ports/Metrics.ts); only its
    // prom-client implementation imports the library.
    files: ['server/**/*.ts'],
    ignores: ['server/runtime/**', 'server/metrics/PromMetrics.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [...timePaths, { name: 'prom-client', message: 'Record through the Metrics port (server/ports/Metrics.ts); only server/metrics/PromMetrics.ts imports prom-client.' }],
      }],
    },
  },
);
