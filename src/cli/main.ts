// `drgan` entry point: finds the subcommand (longest matching word sequence), parses its
// flags against its declared specs, and turns errors into one clear line and exit code.
import { formatHelp, parseFlags, UsageError } from './flags.js';
import type { Command } from './command.js';
import { commands } from './registry.js';

function topHelp(): string {
  const lines = ['usage: drgan <command> [flags]', '', 'commands:'];
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  for (const c of commands) lines.push(`  ${c.name.padEnd(width)}${c.summary}`);
  lines.push('', 'Run `drgan <command> --help` for the flags of one command.');
  return lines.join('\n');
}

function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  let best: { command: Command; rest: string[] } | undefined;
  for (const c of commands) {
    const words = c.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.command.name.split(' ').length)) {
      best = { command: c, rest: argv.slice(words.length) };
    }
  }
  return best;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(topHelp());
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  if (!found) {
    console.error(`drgan: unknown command "${argv.join(' ')}"\n\n${topHelp()}`);
    return 2;
  }
  const { command, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(formatHelp(command.usage, command.summary, command.flags));
    return 0;
  }
  try {
    const { flags, positional } = parseFlags(rest, command.flags, `drgan ${command.name}`);
    return await command.run(flags, positional);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    const e = err as Error;
    console.error(`drgan ${command.name}: ${e.message}`);
    if (process.env.DRGAN_DEBUG) console.error(e.stack);
    return 1;
  }
}
