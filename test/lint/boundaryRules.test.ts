import { describe, expect, it } from 'vitest';
import { lintWith, ruleMessages } from './lintSnippet.ts';

// The layering, size and promise rules in eslint.config.js must actually fire (and stay quiet
// where the layering allows an import).
describe('the layering lint rules', () => {
  const eslint = lintWith('untyped');
  const importing = (specifier: string): string => `import { x } from '${specifier}';\nexport const y = x;\n`;
  const rejects = async (filePath: string, specifier: string, says: string): Promise<void> => {
    const messages = await ruleMessages(eslint, importing(specifier), filePath, 'no-restricted-imports');
    expect(messages.join('\n'), `${filePath} importing ${specifier}`).toContain(says);
  };
  const allows = async (filePath: string, specifier: string): Promise<void> => {
    expect(await ruleMessages(eslint, importing(specifier), filePath, 'no-restricted-imports'), `${filePath} importing ${specifier}`).toEqual([]);
  };

  it('server/ never imports the simulator, bench, fuzz or tests (runtime and PromMetrics included)', async () => {
    for (const filePath of ['server/chat/Example.ts', 'server/runtime/Example.ts', 'server/metrics/PromMetrics.ts', 'server/Example.ts']) {
      const up = filePath.split('/').length - 1;
      for (const dir of ['simulator/engine', 'bench', 'fuzz', 'test/support']) {
        await rejects(filePath, `${'../'.repeat(up)}${dir}/Thing.ts`, 'never imports the simulator');
      }
    }
    await allows('server/chat/Example.ts', '../protocol/envelopes.ts');
  });

  it('server/ports imports no adapter and no adapter library', async () => {
    for (const specifier of ['../memory/MemoryBroker.ts', '../redis/RedisBroker.ts', '../cassandra/client.ts', '../runtime/SystemTime.ts', '../metrics/PromMetrics.ts', 'ioredis', 'cassandra-driver']) {
      await rejects('server/ports/Example.ts', specifier, 'never imports an adapter');
    }
    await allows('server/ports/Example.ts', './Clock.ts');
  });

  it('adapter families (memory, redis, cassandra) do not import each other', async () => {
    const families = { memory: '../memory/MemoryBroker.ts', redis: '../redis/RedisBroker.ts', cassandra: '../cassandra/client.ts' };
    for (const family of Object.keys(families)) {
      const filePath = `server/${family}/Example.ts`;
      for (const [other, specifier] of Object.entries(families)) {
        if (other === family) await allows(filePath, specifier);
        else await rejects(filePath, specifier, 'one adapter family');
      }
      await allows(filePath, '../ports/Broker.ts');
    }
    await rejects('server/memory/Example.ts', 'ioredis', 'one adapter family');
    await rejects('server/redis/Example.ts', 'cassandra-driver', 'one adapter family');
  });

  it('simulator/report does not import simulator/engine; the engine may import report shapes', async () => {
    await rejects('simulator/report/Example.ts', '../engine/LiveRun.ts', 'never imports simulator/engine');
    await allows('simulator/report/Example.ts', '../history/FaultWindow.ts');
    await allows('simulator/engine/Example.ts', '../report/RunProgress.ts');
  });

  it('the layering rules keep the determinism and Metrics-port import rules in the same files', async () => {
    const timers = "import { setTimeout as later } from 'node:timers';\nexport const l = later;\n";
    for (const filePath of ['server/ports/Example.ts', 'server/memory/Example.ts', 'server/redis/Example.ts', 'server/cassandra/Example.ts', 'simulator/report/Example.ts', 'server/metrics/PromMetrics.ts']) {
      expect((await ruleMessages(eslint, timers, filePath, 'no-restricted-imports')).join(), filePath).toContain('Timers');
    }
    for (const filePath of ['server/ports/Example.ts', 'server/redis/Example.ts']) {
      expect((await ruleMessages(eslint, importing('prom-client'), filePath, 'no-restricted-imports')).join(), filePath).toMatch(/Metrics port|adapter/);
    }
  });
});

describe('the size lint rules', () => {
  const eslint = lintWith('untyped');
  const fileOf = (lines: number): string => Array.from({ length: lines }, (_, i) => `export const v${i} = ${i};`).join('\n') + '\n';
  const functionOf = (lines: number): string =>
    `export function long(): number {\n  let n = 0;\n${'  n += 1;\n'.repeat(lines - 4)}  return n;\n}\n`;

  it('rejects a production file over 400 lines in server/, simulator/ and bin/', async () => {
    for (const filePath of ['server/chat/Example.ts', 'simulator/check/Example.ts', 'bin/commands/Example.ts']) {
      expect(await ruleMessages(eslint, fileOf(401), filePath, 'max-lines'), filePath).toHaveLength(1);
      expect(await ruleMessages(eslint, fileOf(400), filePath, 'max-lines'), filePath).toEqual([]);
    }
    expect(await ruleMessages(eslint, fileOf(401), 'test/check/Example.test.ts', 'max-lines')).toEqual([]);
  });

  it('rejects a production function over 80 lines', async () => {
    for (const filePath of ['server/chat/Example.ts', 'simulator/check/Example.ts', 'bin/commands/Example.ts']) {
      expect(await ruleMessages(eslint, functionOf(81), filePath, 'max-lines-per-function'), filePath).toHaveLength(1);
      expect(await ruleMessages(eslint, functionOf(80), filePath, 'max-lines-per-function'), filePath).toEqual([]);
    }
  });
});

describe('the floating-promise lint rule (typed)', () => {
  const eslint = lintWith('typed');
  const floating = 'async function work(): Promise<void> {}\nwork();\nexport {};\n';
  const handled = [
    'async function work(): Promise<void> {}\nexport async function run(): Promise<void> { await work(); }\n',
    'async function work(): Promise<void> {}\nexport function run(): Promise<void> { return work(); }\n',
    'async function work(): Promise<void> {}\n// fire and forget: work() handles its own errors\nvoid work();\nexport {};\n',
  ];

  it('rejects an unawaited promise in server/, simulator/ and bin/, accepts await, return and void', async () => {
    for (const filePath of ['server/chat/Example.ts', 'simulator/engine/Example.ts', 'bin/commands/Example.ts']) {
      expect(await ruleMessages(eslint, floating, filePath, '@typescript-eslint/no-floating-promises'), filePath).toHaveLength(1);
    }
    for (const code of handled) {
      expect(await ruleMessages(eslint, code, 'server/chat/Example.ts', '@typescript-eslint/no-floating-promises'), code).toEqual([]);
    }
  }, 120_000);
});
