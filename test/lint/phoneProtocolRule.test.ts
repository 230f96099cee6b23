import { describe, expect, it } from 'vitest';
import { lintWith, ruleMessages } from './lintSnippet.ts';

// The phone's app model knows no wire protocol: simulator/phone/** may not import
// server/protocol nor the chatsim.v1 driver; the driver itself may (eslint.config.js).
describe('the phone protocol lint rule', () => {
  // Untyped: the planted Example.ts files do not exist for the type-aware project service.
  const eslint = lintWith('untyped');
  const restricted = (code: string, filePath: string): Promise<string[]> => ruleMessages(eslint, code, filePath, 'no-restricted-imports');
  const frames = "import type { HelloFrame } from '../../server/protocol/frames.ts';\nexport type H = HelloFrame;\n";

  it('rejects server/protocol in the phone app model and in the driver interface', async () => {
    expect((await restricted(frames, 'simulator/phone/Example.ts')).join()).toContain('protocol-free');
    expect((await restricted(frames, 'simulator/drivers/Example.ts')).join()).toContain('protocol-free');
  });

  it('rejects the chatsim.v1 driver in the phone app model', async () => {
    const code = "import type { ChatsimV1Driver } from '../drivers/chatsimV1/ChatsimV1Driver.ts';\nexport type D = ChatsimV1Driver;\n";
    expect((await restricted(code, 'simulator/phone/Example.ts')).join()).toContain('PhoneDriver.ts');
  });

  it('allows server/protocol in the chatsim.v1 driver, and keeps the time rules in the phone', async () => {
    expect(await restricted("import type { HelloFrame } from '../../../server/protocol/frames.ts';\nexport type H = HelloFrame;\n", 'simulator/drivers/chatsimV1/Example.ts')).toEqual([]);
    expect((await restricted("import { setTimeout } from 'node:timers';\nexport const s = setTimeout;\n", 'simulator/phone/Example.ts')).join()).toContain('Timers port');
  });
});
