import { lintWith } from './lintSnippet.ts';
import { describe, expect, it } from 'vitest';

// The rule that keeps server/ and simulator/ logic deterministic must actually fire.
describe('the determinism lint rule', () => {
  const eslint = lintWith('untyped');
  const forbidden: Array<[string, string]> = [
    ['const t = Date.now();', 'Clock'],
    ['const d = new Date();', 'Clock'],
    ['const r = Math.random();', 'Random'],
    ['setTimeout(() => 1, 10);', 'Timers'],
    ['setInterval(() => 1, 10);', 'Timers'],
    ['const p = performance.now();', 'Clock'],
  ];

  for (const [code, port] of forbidden) {
    it(`rejects \`${code}\` in server/ and names the ${port} port`, async () => {
      for (const filePath of ['server/chat/Example.ts', 'simulator/phone/Example.ts']) {
        const [result] = await eslint.lintText(`export {};\n${code}\n`, { filePath });
        const messages = result!.messages.filter((m) => m.ruleId?.startsWith('no-restricted'));
        expect(messages.length).toBeGreaterThan(0);
        expect(messages[0]!.message).toContain(port);
      }
    });
  }

  it('allows them in the runtime module and in tests, and allows new Date(ms)', async () => {
    const [runtime] = await eslint.lintText('export const t = Date.now();\n', { filePath: 'server/runtime/Example.ts' });
    expect(runtime!.messages.filter((m) => m.ruleId?.startsWith('no-restricted'))).toEqual([]);
    const [withArg] = await eslint.lintText('export const d = new Date(0);\n', { filePath: 'server/chat/Example.ts' });
    expect(withArg!.messages.filter((m) => m.ruleId?.startsWith('no-restricted'))).toEqual([]);
  });

  it('keeps prom-client out of server logic (the Metrics port) but lets PromMetrics and the runner use it; time imports stay forbidden in server/', async () => {
    const code = "import { Counter } from 'prom-client';\nexport const c = Counter;\n";
    const [logic] = await eslint.lintText(code, { filePath: 'server/gateway/Example.ts' });
    expect(logic!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message).join()).toContain('Metrics port');
    for (const filePath of ['server/metrics/PromMetrics.ts', 'simulator/output/Example.ts']) {
      const [allowed] = await eslint.lintText(code, { filePath });
      expect(allowed!.messages.filter((m) => m.ruleId === 'no-restricted-imports'), filePath).toEqual([]);
    }
    const [timers] = await eslint.lintText("import { setTimeout as later } from 'node:timers';\nexport const l = later;\n", { filePath: 'server/chat/Example.ts' });
    expect(timers!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message).join()).toContain('Timers');
  });
});
