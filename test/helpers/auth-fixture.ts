import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DevEntra, type SeedInput, startDevEntra } from '../../dev-entra/index.js';
import { type GatehouseConfig, loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/http/logger.js';
import { type RunningGatehouse, startGatehouse } from '../../src/http/server.js';
import { MemoryAuditSink } from '../../src/ops/audit.js';
import { authorizeUrl, IDS, pkce, postToken, type SeededUser, signIn } from '../dev-entra/helpers.js';
import { freePort } from './ports.js';

export { IDS };

export interface AuthFixture {
  entra: DevEntra;
  gatehouse: RunningGatehouse;
  audit: MemoryAuditSink;
  mcpUrl: string;
  /** A delegated token for the Gatehouse API, obtained as VS Code (the pre-authorized public client). */
  userToken(user: SeededUser, scopes?: string[]): Promise<string>;
  /** An app-only token for the Gatehouse API, obtained by the daemon with client credentials. */
  appToken(): Promise<string>;
  close(): Promise<void>;
}

/**
 * The Entra emulator and a Gatehouse that trusts it, both on real listeners on port 0, with a
 * fresh SQLite database. Tokens come from the emulator the way real clients get them.
 */
export async function startAuthFixture(
  env: Record<string, string> = {},
  seed?: SeedInput,
): Promise<AuthFixture> {
  const entra = await startDevEntra({ port: 0, ...(seed ? { seed } : {}) });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gatehouse-auth-'));
  const config = await emulatorBackedConfig(entra, dataDir, env);
  const audit = new MemoryAuditSink();
  const gatehouse = await startGatehouse(config, { logger: createLogger(config), audit });
  const mcpUrl = `${gatehouse.url}/mcp`;
  return {
    entra,
    gatehouse,
    audit,
    mcpUrl,
    userToken(user, scopes = ['discover', 'tools.execute']) {
      return vscodeToken(
        entra,
        user,
        [...scopes.map((name) => `api://${IDS.api}/${name}`), 'openid', 'profile', 'offline_access'].join(
          ' ',
        ),
      );
    },
    async appToken() {
      const { status, body } = await postToken(entra.tokenEndpoint('v2'), {
        grant_type: 'client_credentials',
        client_id: IDS.daemon,
        client_secret: IDS.daemonSecret,
        scope: `api://${IDS.api}/.default`,
      });
      if (status !== 200) throw new Error(`client credentials failed: ${JSON.stringify(body)}`);
      return String(body.access_token);
    },
    async close() {
      await gatehouse.close();
      await entra.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Gatehouse's configuration for a fresh SQLite database, trusting the emulator's tenant and API app. */
export async function emulatorBackedConfig(
  entra: DevEntra,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<GatehouseConfig> {
  return loadConfig({
    env: {
      // A real port, so the base URL in metadata and tokens is the one clients reach.
      PORT: String(await freePort()),
      GATEHOUSE_DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      MCP_AZURE_AUTHORITY_HOST: entra.url,
      MCP_AZURE_TENANT_ID: entra.tenantId,
      MCP_AZURE_CLIENT_ID: IDS.api,
      ...env,
    },
  });
}

export const MCP_JSON_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

export async function mcpPost(
  url: string,
  body: unknown,
  token?: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...MCP_JSON_HEADERS, ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : (JSON.parse(text) as any),
  };
}

/** A delegated token obtained the way VS Code (a public client) does: code + PKCE through the sign-in form. */
export async function vscodeToken(entra: DevEntra, user: SeededUser, scope: string): Promise<string> {
  const redirect = 'http://127.0.0.1:33418/';
  const { verifier, challenge } = pkce();
  const { location } = await signIn(
    authorizeUrl(entra, {
      client_id: IDS.vscode,
      redirect_uri: redirect,
      scope,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'state',
      prompt: 'login',
    }),
    user,
  );
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  const { status, body } = await postToken(entra.tokenEndpoint('v2'), {
    grant_type: 'authorization_code',
    client_id: IDS.vscode,
    code,
    redirect_uri: redirect,
    code_verifier: verifier,
    scope,
  });
  if (status !== 200) throw new Error(`token request failed: ${JSON.stringify(body)}`);
  return String(body.access_token);
}
