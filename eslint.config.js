// Lint rules. The one that matters most: server/ and simulator/ logic never touches the
// wall clock, real timers or Math.random; it takes them from the injected ports so the same
// code runs live and in the deterministic simulation engine. The others keep the layering
// (who may import whom), the size of production files and functions, and promises handled.
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


// Layering, as import patterns (gitignore syntax, matched against the import specifier; every
// import in this repository is a relative path, so a directory name anywhere in it is enough).
// In a flat config a later block's rule options replace an earlier block's, so each block below
// lists every restriction that applies to its files.
const promClient = { name: 'prom-client', message: 'Record through the Metrics port (server/ports/Metrics.ts); only server/metrics/PromMetrics.ts imports prom-client.' };
const serverOutward = {
  group: ['**/simulator/**', '**/bench/**', '**/test/**', '**/fuzz/**'],
  message: 'server/ is the system under test: it never imports the simulator, bench, fuzz or tests.',
};
const adapterDirs = { memory: 'server/memory', redis: 'server/redis', cassandra: 'server/cassandra' };
const adapterLibraries = { redis: 'ioredis', cassandra: 'cassandra-driver' };
const portsNoAdapter = {
  group: ['**/memory/**', '**/redis/**', '**/cassandra/**', '**/runtime/**', '**/process/**', '**/http/**', '**/PromMetrics*', 'ioredis', 'cassandra-driver', 'prom-client', 'ws'],
  message: 'server/ports defines contracts only: a port never imports an adapter or its library.',
};
/** An adapter family (memory, redis, cassandra) never imports another family or its library. */
const otherAdapters = (family) => ({
  group: Object.keys(adapterDirs).filter((f) => f !== family).flatMap((f) => [`**/${f}/**`, ...(adapterLibraries[f] ? [adapterLibraries[f]] : [])]),
  message: `${adapterDirs[family]} is one adapter family: it never imports another family (${Object.values(adapterDirs).filter((d) => d !== adapterDirs[family]).join(', ')}); share code through server/ports.`,
});
const reportNoEngine = {
  group: ['**/engine/**'],
  message: 'simulator/report renders a finished run; it never imports simulator/engine (shared shapes live outside the engine).',
};
const restrictImports = ({ paths = [], patterns = [] }) => ['error', { paths, patterns }];
const serverLogicImports = { paths: [...timePaths, promClient], patterns: [serverOutward] };

const productionFiles = ['server/**/*.{ts,js,mjs}', 'simulator/**/*.{ts,js,mjs}', 'bin/**/*.{ts,js,mjs}'];

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
      'no-restricted-imports': restrictImports({ paths: timePaths }),
    },
  },
  {
    // The phone's app model speaks intents and hears events through a driver
    // (simulator/drivers/PhoneDriver.ts); it knows no wire protocol. chatsim.v1's frames live in
    // its driver (simulator/drivers/chatsimV1), so the same phone can drive another protocol.
    files: ['simulator/phone/**/*.ts', 'simulator/drivers/*.ts'],
    rules: {
      'no-restricted-imports': restrictImports({
        paths: timePaths,
        patterns: [
          { group: ['**/server/protocol', '**/server/protocol/**'], message: 'The phone app model is protocol-free: put wire-protocol code in a driver (simulator/drivers/<protocol>/).' },
          { group: ['**/drivers/chatsimV1', '**/drivers/chatsimV1/**'], message: 'The phone app model talks to any driver through simulator/drivers/PhoneDriver.ts; whoever builds a phone picks the driver.' },
        ],
      }),
    },
  },
  {
    files: ['simulator/report/**/*.ts'],
    rules: { 'no-restricted-imports': restrictImports({ paths: timePaths, patterns: [reportNoEngine] }) },
  },
  {
    // The runtime module is the one place that reads real time, but it is still server code.
    files: ['server/**/*.ts'],
    rules: { 'no-restricted-imports': restrictImports({ patterns: [serverOutward] }) },
  },
  {
    // Server logic records metrics through the Metrics port (server/ports/Metrics.ts); only its
    // prom-client implementation imports the library.
    files: ['server/**/*.ts'],
    ignores: ['server/runtime/**', 'server/metrics/PromMetrics.ts'],
    rules: { 'no-restricted-imports': restrictImports(serverLogicImports) },
  },
  {
    files: ['server/metrics/PromMetrics.ts'],
    rules: { 'no-restricted-imports': restrictImports({ paths: timePaths, patterns: [serverOutward] }) },
  },
  {
    files: ['server/ports/**/*.ts'],
    rules: { 'no-restricted-imports': restrictImports({ ...serverLogicImports, patterns: [serverOutward, portsNoAdapter] }) },
  },
  ...Object.entries(adapterDirs).map(([family, dir]) => ({
    files: [`${dir}/**/*.ts`],
    rules: { 'no-restricted-imports': restrictImports({ ...serverLogicImports, patterns: [serverOutward, otherAdapters(family)] }) },
  })),
  {
    // Production code stays readable in one sitting: files up to 400 lines, functions up to 80.
    files: productionFiles,
    rules: { 'max-lines': ['error', { max: 400 }], 'max-lines-per-function': ['error', { max: 80 }] },
  },
  {
    // A promise nobody awaits loses its rejection (an unhandled rejection kills the process or
    // vanishes). Typed, so limited to production TypeScript to keep lint fast.
    files: ['server/**/*.ts', 'simulator/**/*.ts', 'bin/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error' },
  },
);
