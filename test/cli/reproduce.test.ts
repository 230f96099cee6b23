// The reproduce line carries every flag that changes what runs (docs/cli.md), from the command
// line or a CHATSIM_* variable, and nothing about where results go or any secret.
import { describe, expect, it } from 'vitest';
import { reproduceLine, withEnvironment } from '../../bin/commands/run.ts';

const live = { engine: 'live', seed: 11, cluster: { processes: 'single' } };

describe('reproduce line', () => {
  it('carries seed, engine, phones, duration, heal, target, bugs, checks, workers, processes, Redis and Cassandra', () => {
    const line = reproduceLine('scenarios/flaky-mobile.yaml', { engine: 'live', seed: 11, cluster: { processes: 'multi' } }, {
      seed: 11, phones: 300, duration: 40_000, heal: 20_000, target: 'http://127.0.0.1:7000', injectBug: ['sync-off-by-one', 'no-dedupe'], checks: 'core',
      workers: 3, redis: 'redis://127.0.0.1:6379', cassandra: '127.0.0.1:9042', engine: 'live',
      dir: '/tmp/out', out: ['json=/tmp/x.jsonl'], json: true, quiet: true, adminTokenFile: '/secret/admin-token', baseline: 'main/summary.json',
    });
    expect(line).toBe('chatsim run scenarios/flaky-mobile.yaml --engine live --seed 11 --phones 300 --duration 40000ms --heal 20000ms --target http://127.0.0.1:7000'
      + ' --inject-bug sync-off-by-one --inject-bug no-dedupe --checks core --workers 3 --processes multi --redis redis://127.0.0.1:6379 --cassandra 127.0.0.1:9042');
  });

  it('always gives the seed, names the sim engine of a file, and --engine live when it overrode one', () => {
    expect(reproduceLine('a.yaml', live, {})).toBe('chatsim run a.yaml --seed 11');
    expect(reproduceLine('a.yaml', { ...live, engine: 'sim' }, {})).toBe('chatsim run a.yaml --engine sim --seed 11');
    expect(reproduceLine('a.yaml', live, { engine: 'live' })).toBe('chatsim run a.yaml --engine live --seed 11');
  });

  it('carries what came from CHATSIM_* variables as flags', () => {
    const opts = withEnvironment({}, { CHATSIM_PHONES: '50', CHATSIM_DURATION: '2s', CHATSIM_HEAL: '1s', CHATSIM_TARGET: 'http://h:1', CHATSIM_WORKERS: '2', CHATSIM_DIR: '/tmp/d' });
    expect(reproduceLine('a.yaml', live, opts)).toBe('chatsim run a.yaml --seed 11 --phones 50 --duration 2000ms --heal 1000ms --target http://h:1 --workers 2');
  });
});
