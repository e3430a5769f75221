// The `rlhf` command. Each subcommand lives in its own file; errors print one line, not a stack.
import { Command, CommanderError } from 'commander';
import { convertCommand } from './convert.js';
import { demoCommand } from './demo.js';
import { demoSftCommand } from './demo-sft.js';
import { startCommand } from './start.js';
import { evalCommand } from './eval.js';
import { generateCommand } from './generate.js';
import { initCommand } from './init.js';
import { exportCommand, importCommand } from './labels.js';
import { serveCommand } from './serve.js';
import { tasksCommand } from './tasks.js';
import { usersCommand } from './users.js';
import { mergeCommand } from './merge.js';
import { sftCommand } from './sft.js';
import { ppoCommand } from './ppo.js';
import { grpoCommand, rlooCommand } from './group-rl.js';
import { tokenizerCommand } from './tokenizer.js';
import { trainRmCommand } from './train-rm.js';
import { dpoCommand } from './dpo.js';
import { scoreCommand } from './score.js';
import { evalRmCommand } from './eval-rm.js';
import { labelCommand } from './label.js';

const program = new Command('rlhf')
  .description('RLHF on one machine: GPT-2 on TensorFlow.js, labeling, reward models, PPO')
  .version('0.1.0')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();
for (const c of [startCommand(), convertCommand(), demoCommand(), demoSftCommand(), evalCommand(), generateCommand(), initCommand(), mergeCommand(), sftCommand(), ppoCommand(), grpoCommand(), rlooCommand(), trainRmCommand(), dpoCommand(), scoreCommand(), evalRmCommand(), labelCommand(), tokenizerCommand(), serveCommand(), usersCommand(), tasksCommand(), exportCommand(), importCommand()]) {
  program.addCommand(c);
}
program.commands.forEach(function exit(c: Command) {
  c.exitOverride();
  c.commands.forEach(exit);
});

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  if (process.env.RLHF_DEBUG) console.error(e);
  process.stderr.write(`error: ${(e as Error).message}\n`);
  process.exit(1);
}
