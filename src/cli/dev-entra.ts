import type { Command } from './run.js';

// The emulator is a separate program in dev-entra/; the CLI only hands off to it at run time so
// nothing in src/ depends on its code.
const EMULATOR_CLI = '../../dev-entra/cli.js';

export const devEntraCommand: Command = {
  name: 'dev-entra',
  summary: 'Run the local Entra ID emulator for development (loopback only).',
  help: `Usage: gatehouse dev-entra [--https]

Starts the Entra ID emulator (development only) on 127.0.0.1:DEV_ENTRA_PORT (default 8001):
OIDC discovery, JWKS, sign-in page, token endpoint and Graph, seeded with test users.
See docs/dev-entra.md.`,
  async run(argv) {
    const emulator = (await import(EMULATOR_CLI)) as { runDevEntraCli(argv: string[]): Promise<void> };
    await emulator.runDevEntraCli(argv);
    return undefined;
  },
};
