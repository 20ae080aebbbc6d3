// Every subcommand, in the order `drgan --help` lists them. Add a command by importing it here.
import type { Command } from './command.js';
import { phantomCommand } from './commands/phantom.js';
import { prepareCommand } from './commands/prepare.js';

export const commands: Command[] = [phantomCommand, prepareCommand];
