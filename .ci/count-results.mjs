// Prints "N passed, N failed" from vitest's JSON report; exits 1 if the report is missing,
// if any test failed, or if no test ran at all.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'reports/test-results.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log(`no test report at ${file}: ${error.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
// A test file that failed to load (a syntax error, a throwing import) counts as one failure:
// its tests never ran. numFailedTestSuites is not that: it also counts every file and describe
// block around a failed test (one failed test read as "3 failed").
const loadFailures = (report.testResults ?? []).filter((file) => file.status === 'failed' && (file.assertionResults ?? []).length === 0).length;
const failed = (report.numFailedTests ?? 0) + loadFailures;
const skipped = report.numPendingTests ?? 0;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
