// The Python PyTorch side of the benchmarks, run as child processes of the Node script so
// that both sides share one run (and can be interleaved to spread the machine's noise).
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export const PYTHON = process.env.DRGAN_PYTHON ?? '/usr/bin/python3';

export function pythonScript(benchRoot: string, name: string): string {
  return join(benchRoot, 'bench', 'python', name);
}

/** Runs a script to completion and parses the JSON on its last stdout line. */
export function runPythonJson<T>(script: string, args: string[], env: NodeJS.ProcessEnv): T {
  const r = spawnSync(PYTHON, [script, ...args], { env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.error) throw new Error(`could not start ${PYTHON} ${script}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${PYTHON} ${script} exited with ${r.status}:\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** A long-lived Python process speaking one JSON line per request (see gan_step.py). */
export class PythonWorker {
  private readonly lines: AsyncIterator<string>;
  private readonly child;

  constructor(script: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(PYTHON, [script, ...args], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.on('error', (e) => {
      throw new Error(`could not start ${PYTHON} ${script}: ${e.message}`);
    });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }

  async read<T>(): Promise<T> {
    const next = await this.lines.next();
    if (next.done) throw new Error('the Python benchmark process ended early (see its stderr above)');
    return JSON.parse(next.value) as T;
  }

  async request<T>(line: string): Promise<T> {
    this.child.stdin!.write(line + '\n');
    return this.read<T>();
  }

  close(): void {
    this.child.stdin!.end('quit\n');
  }
}
