// Every subcommand, in the order `drgan --help` lists them. Add a command by importing it here.
import type { Command } from './command.js';

export const commands: Command[] = [];
