import { describe, expect, it } from 'vitest';
import { junitXml } from '../../simulator/report/junit.ts';
import { findAll, parseXml } from './xmlCheck.ts';
import { property, sampleSummary, thresholdResult } from './fixtures.ts';

describe('junit.xml', () => {
  it('has one suite with a case per property and per threshold', () => {
    const xml = parseXml(junitXml(sampleSummary({
      properties: [property(), property({ id: 'A6', name: 'order', verdict: 'fail', violations: 1, examples: ['chat c1: seq 3 before 2'] }), property({ id: 'B1', name: 'read', verdict: 'unknown', reason: 'no reads' })],
      thresholds: [thresholdResult('sendToAck p(99) < 500ms', 95, true), thresholdResult('errorRate < 0.001', 0.005, false), thresholdResult('fanOut p(99) < 1s', undefined, false)],
    })));
    expect(xml.name).toBe('testsuites');
    const [suite] = findAll(xml, 'testsuite');
    expect(suite!.attributes).toMatchObject({ name: 'chatsim.flaky-mobile', tests: '6', failures: '3', errors: '0', skipped: '1', time: '20.000' });
    const cases = findAll(suite!, 'testcase');
    expect(cases.map((c) => c.attributes.classname)).toEqual(['properties', 'properties', 'properties', 'thresholds', 'thresholds', 'thresholds']);
    expect(cases[1]!.children[0]).toMatchObject({ name: 'failure', text: 'chat c1: seq 3 before 2' });
    expect(cases[2]!.children[0]).toMatchObject({ name: 'skipped', attributes: { message: 'no reads' } });
    expect(cases[4]!.children[0]!.attributes.message).toBe('actual 0.005, limit < 0.001');
    expect(cases[5]!.children[0]!.attributes.message).toMatch(/did not produce/);
  });

  it('escapes markup, quotes, ampersands, newlines and control characters', () => {
    const nasty = 'a <b>&"quoted"\' \u0001 line\nnext ]]>';
    const xmlText = junitXml(sampleSummary({
      scenario: { name: 'x&<y>', path: 'p"q' },
      properties: [property({ id: 'P<1>', name: nasty, verdict: 'fail', violations: 1, examples: [nasty] })],
      thresholds: [thresholdResult('sendToAck p(99) < 5 && "x"', 1, false)],
      reproduce: 'chatsim run "a b" --seed 1 & echo <x>',
    }));
    const xml = parseXml(xmlText);
    const cases = findAll(xml, 'testcase');
    expect(findAll(xml, 'testsuite')[0]!.attributes.name).toBe('chatsim.x&<y>');
    expect(cases[0]!.attributes.name).toBe(`P<1> ${nasty.replace('\u0001', '\ufffd')}`);
    expect(cases[0]!.children[0]!.text).toBe(nasty.replace('\u0001', '\ufffd'));
    expect(cases[1]!.attributes.name).toBe('sendToAck p(99) < 5 && "x"');
    expect(findAll(xml, 'property').find((p) => p.attributes.name === 'reproduce')!.attributes.value).toBe('chatsim run "a b" --seed 1 & echo <x>');
    expect([...xmlText].some((ch) => ch.charCodeAt(0) < 9)).toBe(false);
  });

  it('reports a run that could not complete as an error case', () => {
    const xml = parseXml(junitXml(sampleSummary({ runFailed: { code: 'WORKER_FAILED', message: 'worker 0 exited <1>' }, properties: [], thresholds: [] })));
    const [suite] = findAll(xml, 'testsuite');
    expect(suite!.attributes).toMatchObject({ tests: '1', errors: '1', failures: '0' });
    expect(findAll(xml, 'error')[0]!.attributes).toEqual({ type: 'WORKER_FAILED', message: 'worker 0 exited <1>' });
  });

  it('the checker itself rejects broken XML', () => {
    expect(() => parseXml('<a><b></a>')).toThrow();
    expect(() => parseXml('<a>x & y</a>')).toThrow();
    expect(() => parseXml('<a x="1"><b>')).toThrow();
  });
});
