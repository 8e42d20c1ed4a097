import { CLIENTS, type ClientShape } from '../web/client-snippets.js';
import { loadConfigOrExplain } from './config-errors.js';
import type { Command } from './run.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const HELP = `Usage: gatehouse client-config <client> [--server NAME] [--name NAME]

Prints what to put into an MCP client so that it connects to this Gatehouse, for
${Object.keys(CLIENTS).join(', ')}.
The snippet goes to standard output (redirect it into the file named on standard error).

  --server NAME  point the client at one upstream server of the gateway: /mcp/NAME instead of /mcp
  --name NAME    the entry's name in the client's configuration (default: gatehouse, or the server's)

The URL comes from MCP_SERVER_BASE_URL (or HOST and PORT), as for serve.`;

export const clientConfigCommand: Command = {
  name: 'client-config',
  summary: "Print an MCP client's configuration for this server (claude, vscode, cursor, …).",
  help: HELP,
  async run(argv) {
    const options = parse(argv);
    if (typeof options === 'string') {
      console.error(`${options}\n\n${HELP}`);
      return 2;
    }
    const config = loadConfigOrExplain();
    if (config === undefined) return 1;
    const shape = CLIENTS[options.client] as ClientShape;
    const url = `${config.server.baseUrl}/mcp${options.server === undefined ? '' : `/${options.server}`}`;
    console.error(`${shape.title}. ${shape.where}\n`);
    console.log(shape.snippet(options.name, url));
    console.error(`\n${shape.next}`);
    return 0;
  },
};

function parse(argv: readonly string[]): { client: string; server?: string; name: string } | string {
  let client: string | undefined;
  let server: string | undefined;
  let name: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (arg === '--server' || arg === '--name') {
      const value = argv[++index];
      if (value === undefined || !NAME.test(value))
        return `${arg} needs a name of letters, digits, '-' and '_' (got ${value === undefined ? 'nothing' : `'${value}'`}).`;
      if (arg === '--server') server = value;
      else name = value;
    } else if (arg.startsWith('-')) {
      return `Unknown option '${arg}'.`;
    } else if (client === undefined) {
      client = arg;
    } else {
      return `One client at a time (got '${client}' and '${arg}').`;
    }
  }
  if (client === undefined) return `Name the client: one of ${Object.keys(CLIENTS).join(', ')}.`;
  if (!Object.hasOwn(CLIENTS, client))
    return `Unknown client '${client}': use one of ${Object.keys(CLIENTS).join(', ')}.`;
  return { client, ...(server === undefined ? {} : { server }), name: name ?? server ?? 'gatehouse' };
}
