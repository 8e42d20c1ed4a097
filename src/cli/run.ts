import { adminCommand } from './admin.js';
import { clientConfigCommand } from './client-config.js';
import { devEntraCommand } from './dev-entra.js';
import { doctorCommand } from './doctor.js';
import { keysCommand } from './keys.js';
import { membersCommand } from './members.js';
import { migrateCommand } from './migrate.js';
import { serveCommand } from './serve.js';

export interface Command {
  name: string;
  summary: string;
  help: string;
  run(argv: string[]): Promise<number | undefined>;
}

const COMMANDS: readonly Command[] = [
  serveCommand,
  migrateCommand,
  keysCommand,
  membersCommand,
  clientConfigCommand,
  doctorCommand,
  devEntraCommand,
  adminCommand,
];
/** Commands that read their own arguments; the others take none. */
const WITH_ARGUMENTS = new Set(['dev-entra', 'keys', 'client-config', 'admin', 'members']);

const USAGE = `Usage: gatehouse [command] [--help]

Gatehouse: an MCP server and gateway behind Microsoft Entra ID sign-in.

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(14)} ${command.summary}`).join('\n')}

Without a command, gatehouse runs serve. Configuration comes from environment variables
(docs/configuration.md); every command accepts --help.`;

/** Parses the command line only; each command hands off to http/ or storage/. Returns the exit code. */
export async function runCli(argv: string[]): Promise<number | undefined> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (first === '--version' || first === '-v') {
    const { readVersion } = await import('../ops/build-info.js');
    console.log(readVersion());
    return 0;
  }
  const command =
    first === undefined || first.startsWith('-')
      ? serveCommand
      : COMMANDS.find((candidate) => candidate.name === first);
  if (command === undefined) {
    console.error(`Unknown command '${first}'.\n\n${USAGE}`);
    return 2;
  }
  const args = first === undefined || first.startsWith('-') ? argv : rest;
  if (args.includes('--help') || args.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  const unknown = args.filter((arg) => arg !== '');
  if (unknown.length > 0 && !WITH_ARGUMENTS.has(command.name)) {
    console.error(
      `gatehouse ${command.name} takes no arguments (got: ${unknown.join(' ')}); it is configured by environment variables.\n\n${command.help}`,
    );
    return 2;
  }
  return command.run(args);
}
