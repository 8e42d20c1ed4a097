import { loadConfigOrExplain } from './config-errors.js';
import type { Command } from './run.js';

/** How one MCP client is pointed at an MCP URL: where the snippet goes and the snippet itself. */
interface ClientShape {
  title: string;
  /** Where the snippet goes, or how to run it. */
  where: string;
  snippet(name: string, url: string): string;
  /** What happens after, in one sentence. */
  next: string;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

const CLIENTS: Readonly<Record<string, ClientShape>> = {
  claude: {
    title: 'Claude Code',
    where: 'Run in a terminal:',
    snippet: (name, url) => `claude mcp add --transport http ${name} ${url}`,
    next: 'Then run /mcp in Claude Code and choose Authenticate: the browser opens for sign-in.',
  },
  vscode: {
    title: 'VS Code',
    where: 'Put in .vscode/mcp.json (workspace) or the user-level mcp.json:',
    snippet: (name, url) => json({ servers: { [name]: { type: 'http', url } } }),
    next: 'VS Code shows Start above the entry; starting it opens the browser for sign-in.',
  },
  cursor: {
    title: 'Cursor',
    where: 'Put in ~/.cursor/mcp.json (or .cursor/mcp.json in a project):',
    snippet: (name, url) => json({ mcpServers: { [name]: { url } } }),
    next: 'Cursor lists the server under MCP and asks you to log in, which opens the browser.',
  },
  windsurf: {
    title: 'Windsurf',
    where: 'Put in ~/.codeium/windsurf/mcp_config.json:',
    snippet: (name, url) => json({ mcpServers: { [name]: { serverUrl: url } } }),
    next: 'Refresh the MCP servers in Windsurf; the first use opens the browser for sign-in.',
  },
  inspector: {
    title: 'MCP Inspector (2.x, Node.js 22.19 or later)',
    where: 'Run in a terminal:',
    snippet: (_name, url) =>
      `npx @modelcontextprotocol/inspector --cli ${url} --transport http --method tools/list`,
    next: 'The Inspector runs the sign-in itself (the browser opens once); drop --cli for its web UI.',
  },
  'mcp-remote': {
    title: 'mcp-remote (for clients that only start stdio servers, e.g. Claude Desktop)',
    where: "Put in the client's mcpServers configuration (Claude Desktop: claude_desktop_config.json):",
    snippet: (name, url) =>
      json({ mcpServers: { [name]: { command: 'npx', args: ['-y', 'mcp-remote', url] } } }),
    next: 'mcp-remote opens the browser for sign-in on first use and keeps the tokens in ~/.mcp-auth.',
  },
};

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
