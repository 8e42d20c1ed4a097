/**
 * What to put into each MCP client so that it connects to a Gatehouse URL: printed by
 * `gatehouse client-config` and shown on the landing page to a signed-in user.
 */

/** How one MCP client is pointed at an MCP URL: where the snippet goes and the snippet itself. */
export interface ClientShape {
  title: string;
  /** Where the snippet goes, or how to run it. */
  where: string;
  snippet(name: string, url: string): string;
  /** What happens after, in one sentence. */
  next: string;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

export const CLIENTS: Readonly<Record<string, ClientShape>> = {
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
