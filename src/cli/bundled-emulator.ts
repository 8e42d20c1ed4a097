import { type GatehouseConfig, isLoopbackHost } from '../config/index.js';

// The emulator is a separate program in dev-entra/; the CLI loads it at run time only, so nothing
// in src/ depends on its code.
const EMULATOR = '../../dev-entra/index.js';

export interface BundledEmulator {
  url: string;
  /** Environment that points Gatehouse at the emulator's tenant and API app. */
  env: Record<string, string>;
  users: { userName: string; password: string; roles: string }[];
  close(): Promise<void>;
}

/**
 * With nothing about Azure configured, a first start signs users in at the built-in Entra ID
 * emulator, so that the whole flow (sign-in, consent, roles) works without a tenant. Only on a
 * loopback address and outside production: the emulator's passwords are public.
 */
export function wantsBundledEmulator(config: GatehouseConfig): boolean {
  const untouched = (name: string) => config.sources[name] === 'default';
  return (
    untouched('MCP_AZURE_CLIENT_ID') &&
    untouched('MCP_AZURE_TENANT_ID') &&
    untouched('MCP_AZURE_AUTHORITY_HOST') &&
    untouched('MCP_ENABLE_AUTH') &&
    config.server.nodeEnv !== 'production' &&
    isLoopbackHost(config.server.host)
  );
}

interface EmulatorModule {
  startDevEntra(options: { port?: number }): Promise<{
    url: string;
    tenantId: string;
    seed: {
      users: { userName: string; password?: string; appRoles?: { role: string }[] }[];
      applications: {
        appId: string;
        identifierUris: string[];
        secrets: { value: string }[];
        publicClient: boolean;
      }[];
    };
    close(): Promise<void>;
  }>;
}

export async function startBundledEmulator(env: NodeJS.ProcessEnv): Promise<BundledEmulator> {
  const port = Number(env.DEV_ENTRA_PORT ?? 8001);
  const { startDevEntra } = (await import(EMULATOR)) as EmulatorModule;
  const entra = await startDevEntra({ port });
  const api = entra.seed.applications.find(
    (app) => app.identifierUris.length > 0 && app.secrets.length > 0 && !app.publicClient,
  );
  if (api === undefined) {
    await entra.close();
    throw new Error('the emulator seed has no API app with a secret');
  }
  return {
    url: entra.url,
    env: {
      MCP_AZURE_AUTHORITY_HOST: entra.url,
      MCP_AZURE_TENANT_ID: entra.tenantId,
      MCP_AZURE_CLIENT_ID: api.appId,
      MCP_AZURE_CLIENT_SECRET: api.secrets[0]!.value,
    },
    users: entra.seed.users.map((user) => ({
      userName: user.userName,
      password: user.password ?? '',
      roles: (user.appRoles ?? []).map((assignment) => assignment.role).join(', ') || 'none',
    })),
    close: () => entra.close(),
  };
}
