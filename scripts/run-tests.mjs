// Runs every compiled test file (dist/test/**/*.test.js) with Node's test runner.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filter = process.argv[2];
const files = collect('dist/test', []).filter((f) => !filter || f.includes(filter));
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/test' + (filter ? ` matching ${filter}` : ''));
  process.exit(1);
}
// --expose-gc lets memory tests settle the heap before counting live tensor handles.
const r = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
