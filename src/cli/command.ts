// The shape every `drgan` subcommand has; main.ts keeps the registry.
import type { FlagSpecs, FlagValues } from './flags.js';

export interface Command {
  /** Name as typed after `drgan`, e.g. 'phantom' or 'train grader' (multi-word allowed). */
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpecs;
  /** Returns the process exit code. Throw UsageError for bad flags. */
  run(flags: FlagValues, positional: string[]): Promise<number>;
}
