import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevEntra } from './index.js';

function parseArgs(argv: string[]): { https: boolean; seed?: string; port?: number } {
  const out: { https: boolean; seed?: string; port?: number } = { https: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--https') out.https = true;
    else if (arg === '--seed') out.seed = argv[++i];
    else if (arg.startsWith('--seed=')) out.seed = arg.slice(7);
    else if (arg === '--port') out.port = Number(argv[++i]);
    else if (arg.startsWith('--port=')) out.port = Number(arg.slice(7));
    else throw new Error(`dev-entra: unknown argument '${arg}' (use --https, --seed <file>, --port <n>)`);
  }
  return out;
}

/** `gatehouse dev-entra`: runs the emulator in the foreground until SIGINT/SIGTERM. */
export async function runDevEntraCli(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const port = args.port ?? Number(process.env.DEV_ENTRA_PORT ?? 8001);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`dev-entra: DEV_ENTRA_PORT must be a port number, got '${process.env.DEV_ENTRA_PORT}'`);
  }
  const https = args.https || process.env.DEV_ENTRA_HTTPS === '1';
  const entra = await startDevEntra({ port, https, ...(args.seed ? { seed: args.seed } : {}) });
  const lines = [
    '',
    '  *** Gatehouse dev-entra: an Entra ID emulator FOR DEVELOPMENT ONLY. Never use it in production. ***',
    '',
    `  URL        ${entra.url}`,
    `  Tenant     ${entra.tenantId} (${entra.seed.tenant.domain})`,
    `  Authority  ${entra.authority('v2')}`,
  ];
  let caFile: string | undefined;
  if (entra.caCertificatePem) {
    caFile = join(tmpdir(), `gatehouse-dev-entra-ca-${process.pid}.pem`);
    writeFileSync(caFile, entra.caCertificatePem);
    lines.push(`  CA cert    ${caFile}  (e.g. NODE_EXTRA_CA_CERTS=${caFile})`);
  }
  lines.push('', '  App registrations:');
  for (const app of entra.seed.applications) {
    const kind = app.publicClient
      ? 'public client'
      : app.secrets.length > 0
        ? `secret ${app.secrets[0]!.value}`
        : 'API only';
    lines.push(`    ${app.displayName.padEnd(20)} ${app.appId}  ${kind}`);
  }
  lines.push('', '  Users (development passwords):');
  for (const user of entra.seed.users) {
    lines.push(`    ${user.userPrincipalName!.padEnd(40)} ${user.password}`);
  }
  lines.push('', '  Press Ctrl+C to stop.', '');
  process.stdout.write(`${lines.join('\n')}\n`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if (caFile) rmSync(caFile, { force: true });
      entra.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.stdout.write('dev-entra stopped.\n');
}
