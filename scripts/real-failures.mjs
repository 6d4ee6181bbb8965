// Sums up the failed tests of the real-server layer from vitest's JSON results (one file per test
// file, written by scripts/test-real.sh): each failed test's name and the first lines of why, so
// the end of a CI log says what failed without scrolling back through every file's output.
import { readFileSync } from 'node:fs';

const ANSI = /\u001b\[[0-9;]*m/g;
for (const path of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    continue; // the file's run died before writing its results: its own output says why
  }
  for (const file of report.testResults ?? []) {
    const failed = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    if (failed.length === 0 && file.status === 'failed' && file.message)
      console.log(`✗ ${file.name}: ${file.message.replace(ANSI, '').split('\n').slice(0, 6).join('\n    ')}`);
    for (const t of failed) {
      // The message, its diff and the test's own frames; vitest's and Node's frames say nothing here.
      const why = (t.failureMessages ?? [])
        .join('\n')
        .replace(ANSI, '')
        .split('\n')
        .filter((line) => !/node_modules|node:internal|new Promise \(/.test(line))
        .slice(0, 12);
      console.log(`✗ ${t.fullName} (${Math.round(t.duration ?? 0)} ms)\n    ${why.join('\n    ')}`);
    }
  }
}
