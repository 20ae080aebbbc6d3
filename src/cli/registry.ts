// Every subcommand, in the order `drgan --help` lists them. Add a command by importing it here.
import type { Command } from './command.js';
import { phantomCommand } from './commands/phantom.js';
import { prepareCommand } from './commands/prepare.js';
import { trainGraderCommand } from './commands/train-grader.js';
import { evalGraderCommand } from './commands/eval-grader.js';
import { latentCommand } from './commands/latent.js';
import { trainSegCommand } from './commands/train-seg.js';
import { trainCamCommand } from './commands/train-cam.js';
import { evalSegCommand } from './commands/eval-seg.js';
import { masksCommand } from './commands/masks.js';
import { trainGanCommand } from './commands/train-gan.js';
import { evalFidCommand, evalKidCommand, evalSwdCommand } from './commands/eval-metrics.js';
import { evalLesionsCommand } from './commands/eval-lesions.js';
import { experimentAblationCommand, experimentAugmentCommand } from './commands/experiment.js';
import { experimentReadingCommand, experimentReadingScoreCommand } from './commands/experiment-reading.js';
import { reportCommand } from './commands/report.js';
import { fitLesionsCommand } from './commands/fit-lesions.js';
import { synthCommand } from './commands/synth.js';
import { exportCommand } from './commands/export.js';
import { demoCommand } from './commands/demo.js';

export const commands: Command[] = [demoCommand, phantomCommand, prepareCommand, trainSegCommand, trainCamCommand, evalSegCommand, masksCommand, trainGraderCommand, evalGraderCommand, evalFidCommand, evalKidCommand, evalSwdCommand, evalLesionsCommand, latentCommand, trainGanCommand, experimentAugmentCommand, experimentAblationCommand, experimentReadingCommand, experimentReadingScoreCommand, fitLesionsCommand, synthCommand, exportCommand, reportCommand];
