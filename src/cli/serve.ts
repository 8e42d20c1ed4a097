import type { GatehouseConfig } from '../config/index.js';
import { isGatehouseError } from '../errors/index.js';
import { type RunningGatehouse, startGatehouse } from '../http/server.js';
import { type BundledEmulator, startBundledEmulator, wantsBundledEmulator } from './bundled-emulator.js';
import { loadConfigOrExplain } from './config-errors.js';
import type { Command } from './run.js';

const say = (line = '') => process.stderr.write(`${line}\n`);

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Start the Gatehouse server (the default).',
  help: `Usage: gatehouse serve

Starts Gatehouse: opens storage (SQLite under ./data by default, PostgreSQL when DATABASE_URL is
set, Redis for short-lived state when REDIS_URL is set), applies migrations, and serves the MCP
endpoint at /mcp on HOST:PORT (default 127.0.0.1:8000). SIGTERM or SIGINT stops it gracefully:
in-flight requests finish (up to HTTP_SHUTDOWN_TIMEOUT seconds) before it exits.

Every setting is an environment variable: see docs/configuration.md.`,
  async run() {
    let config = loadConfigOrExplain();
    if (config === undefined) return 1;
    let emulator: BundledEmulator | undefined;
    if (wantsBundledEmulator(config)) {
      say('No Entra ID settings (MCP_AZURE_*): starting the built-in Entra ID emulator for development …');
      try {
        emulator = await startBundledEmulator(process.env);
      } catch (error) {
        const busy = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
        say(
          busy
            ? `The emulator's port ${process.env.DEV_ENTRA_PORT ?? 8001} is in use: set DEV_ENTRA_PORT, or set MCP_ENABLE_AUTH=false to run without sign-in.`
            : `The built-in emulator could not start: ${(error as Error).message}`,
        );
        return 1;
      }
      config = loadConfigOrExplain({ ...process.env, ...emulator.env });
      if (config === undefined) {
        await emulator.close();
        return 1;
      }
    }
    say(`Starting Gatehouse on ${config.server.host}:${config.server.port} …`);
    let running: RunningGatehouse;
    try {
      running = await startGatehouse(config, { onProgress: (line) => say(`  ${line}`) });
    } catch (error) {
      await emulator?.close();
      if (isGatehouseError(error)) {
        say(`\nGatehouse could not start: ${error.message}\n(${error.code})`);
        return 1;
      }
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        say(
          `\nGatehouse could not start: port ${config.server.port} on ${config.server.host} is in use. Stop the other process or set PORT.`,
        );
        return 1;
      }
      throw error;
    }
    printBanner(config, running.url, emulator);
    handleSignals(
      async () => {
        await running.close();
        await emulator?.close();
      },
      running,
      config.server.shutdownTimeoutMs,
    );
    return undefined;
  },
};

function printBanner(config: GatehouseConfig, url: string, emulator: BundledEmulator | undefined) {
  const mcp = `${config.server.baseUrl === `http://${config.server.host}:${config.server.port}` ? url : config.server.baseUrl}/mcp`;
  const lines = [
    '',
    'Gatehouse is ready.',
    `  MCP endpoint   ${mcp}`,
    `  Health         ${url}/health   Readiness ${url}/ready`,
  ];
  if (config.auth.enabled) {
    const entra = config.auth.entra!;
    lines.push(
      `  Sign-in        Entra ID tenant ${entra.tenant}, API app ${entra.clientId} (${entra.authorityHost})`,
      `  Your identity  ${url}/me (with a bearer token)`,
    );
    if (emulator !== undefined) {
      lines.push(
        '',
        `  The built-in Entra ID emulator (${emulator.url}) signs you in. FOR DEVELOPMENT ONLY:`,
        '  set MCP_AZURE_TENANT_ID, MCP_AZURE_CLIENT_ID and MCP_AZURE_CLIENT_SECRET for a real tenant (docs/azure-setup.md).',
        '  Test users (user / password / app roles):',
        ...emulator.users.map(
          (user) => `    ${user.userName.padEnd(8)} ${user.password.padEnd(22)} ${user.roles}`,
        ),
      );
    }
  } else {
    lines.push(
      '',
      '  !!! DEVELOPMENT MODE: authentication is OFF (MCP_ENABLE_AUTH=false). !!!',
      '  !!! Every request acts as "Development User" with every role.        !!!',
      '  !!! Gatehouse refuses this mode on a non-loopback HOST or in production. !!!',
    );
  }
  lines.push(
    '',
    'Connect a client:',
    `  Claude Code   claude mcp add gatehouse --transport http ${mcp}`,
    `  VS Code       .vscode/mcp.json: {"servers":{"gatehouse":{"type":"http","url":"${mcp}"}}}`,
    `  Cursor        ~/.cursor/mcp.json: {"mcpServers":{"gatehouse":{"url":"${mcp}"}}}`,
    `  Windsurf      ~/.codeium/windsurf/mcp_config.json: {"mcpServers":{"gatehouse":{"serverUrl":"${mcp}"}}}`,
    '  Inspector     npx @modelcontextprotocol/inspector  (transport: Streamable HTTP, URL above)',
    '',
    'Stop with Ctrl+C. Configuration: docs/configuration.md.',
  );
  // One write, so whoever reads the output never sees half a banner.
  process.stderr.write(`${lines.join('\n')}\n`);
}

function handleSignals(close: () => Promise<void>, running: RunningGatehouse, timeoutMs: number) {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      say(`${signal} again: exiting now.`);
      process.exit(1);
    }
    stopping = true;
    say(`${signal}: finishing in-flight requests (up to ${timeoutMs / 1000} s), then stopping.`);
    const timer = setTimeout(() => {
      say('Shutdown timed out; exiting with requests still open.');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    close().then(
      () => {
        say('Gatehouse stopped.');
        process.exitCode = 0;
      },
      (error: unknown) => {
        running.logger.error({ err: error }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
