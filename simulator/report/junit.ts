import { escapeXml } from './svgCharts.ts';
import type { PropertySummary, Summary, SummaryThreshold } from './Summary.ts';
import { formatThresholdValue } from './terminalSummary.ts';

/**
 * junit.xml for CI test reporters: one suite `chatsim.<scenario>`, a test case per property
 * (classname `properties`) and per threshold (classname `thresholds`), and an error case when
 * the run could not complete. Unknown properties are skipped with their reason, not failed,
 * matching the exit code; so is each fault of the scenario the target could not take (classname
 * `faults`), so a CI report shows it rather than a silent skip.
 */
export function junitXml(summary: Summary): string {
  const cases = [
    ...(summary.runFailed ? [runFailedCase(summary.runFailed)] : []),
    ...summary.properties.map(propertyCase),
    ...summary.thresholds.map(thresholdCase),
    ...(summary.faultsNotTaken ?? []).map(faultNotTakenCase),
  ];
  const counts = {
    tests: cases.length,
    failures: summary.properties.filter((p) => p.verdict === 'fail').length + summary.thresholds.filter((t) => !t.ok).length,
    errors: summary.runFailed ? 1 : 0,
    skipped: summary.properties.filter((p) => p.verdict === 'unknown').length + (summary.faultsNotTaken?.length ?? 0),
  };
  const seconds = (summary.durationMs / 1000).toFixed(3);
  const countAttrs = `tests="${counts.tests}" failures="${counts.failures}" errors="${counts.errors}" skipped="${counts.skipped}" time="${seconds}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="chatsim" ${countAttrs}>`,
    `  <testsuite name="${attr(`chatsim.${summary.scenario.name}`)}" ${countAttrs}>`,
    '    <properties>',
    ...[['seed', String(summary.seed)], ['engine', summary.engine], ['scenario', summary.scenario.path], ['reproduce', summary.reproduce], ['exitCode', String(summary.exitCode)]]
      .map(([name, value]) => `      <property name="${attr(name!)}" value="${attr(value!)}"/>`),
    '    </properties>',
    ...cases.map((c) => `    ${c}`),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

function propertyCase(p: PropertySummary): string {
  const open = `<testcase classname="properties" name="${attr(`${p.id} ${p.name}`)}">`;
  if (p.verdict === 'pass') return `${open}</testcase>`;
  if (p.verdict === 'unknown') return `${open}<skipped message="${attr(p.reason ?? 'the history could not decide this property')}"/></testcase>`;
  const message = `${p.violations} violation${p.violations === 1 ? '' : 's'}${p.example ? `: ${p.example}` : ''}`;
  return `${open}<failure type="property" message="${attr(message)}">${text(p.examples.join('\n'))}</failure></testcase>`;
}

function thresholdCase(t: SummaryThreshold): string {
  const open = `<testcase classname="thresholds" name="${attr(t.expression)}">`;
  const limit = t.op && t.limit !== null && t.limit !== undefined ? `, limit ${t.op} ${formatThresholdValue(t.expression, t.limit)}` : '';
  const actual = t.actual === null ? `the run did not produce this metric${limit}` : `actual ${formatThresholdValue(t.expression, t.actual)}${limit}`;
  if (t.ok) return `${open}<system-out>${text(actual)}</system-out></testcase>`;
  return `${open}<failure type="threshold" message="${attr(actual)}">${text(`${t.expression}: ${actual}`)}</failure></testcase>`;
}

function faultNotTakenCase(f: NonNullable<Summary['faultsNotTaken']>[number]): string {
  return `<testcase classname="faults" name="${attr(`${f.kind} at ${f.atMs} ms taken`)}"><skipped message="${attr(`not taken: ${f.reason}`)}"/></testcase>`;
}

function runFailedCase(failed: { code: string; message: string }): string {
  return `<testcase classname="run" name="run completed"><error type="${attr(failed.code)}" message="${attr(failed.message)}">${text(`${failed.code}: ${failed.message}`)}</error></testcase>`;
}

/** Attribute values: XML-escaped, newlines kept as character references. */
function attr(value: string): string {
  return escapeXml(value).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function text(value: string): string {
  return escapeXml(value);
}
