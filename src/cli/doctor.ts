import * as oidc from 'openid-client';
import type { GatehouseConfig } from '../config/index.js';
import { clientAuthentication } from '../entra/client-credential.js';
import { openStores } from '../http/storage-selection.js';
import { loadConfigOrExplain } from './config-errors.js';
import type { Command } from './run.js';

/** One check's outcome: fine, a note worth knowing, or a problem with the one sentence that fixes it. */
interface Finding {
  check: string;
  outcome: 'ok' | 'note' | 'problem';
  text: string;
}

const TIMEOUT_MS = 10_000;

const HELP = `Usage: gatehouse doctor

Checks this configuration against the machine and the Entra ID tenant, without starting the server:
the database and Redis, the tenant's discovery document and clock, the app's credential (by asking
Entra for a token), the scopes Gatehouse asks for and the redirect URI it will use (by sending Entra
a silent sign-in request), and whether the public URL answers. Prints one line per check and, for
each problem, the one thing to change. Exit code: 0 when nothing needs fixing, 1 otherwise.`;

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Check the configuration against Entra ID and the machine, and say what to fix.',
  help: HELP,
  async run() {
    const config = loadConfigOrExplain();
    if (config === undefined) return 1;
    const findings = await diagnose(config);
    for (const finding of findings) {
      const mark = finding.outcome === 'ok' ? '✓' : finding.outcome === 'note' ? '·' : '✗';
      console.log(`${mark} ${finding.check}: ${finding.text}`);
    }
    const problems = findings.filter((finding) => finding.outcome === 'problem').length;
    console.log(
      problems === 0
        ? '\nNothing to fix.'
        : `\n${problems} problem${problems === 1 ? '' : 's'} to fix (each line marked ✗ says how).`,
    );
    return problems === 0 ? 0 : 1;
  },
};

export async function diagnose(config: GatehouseConfig): Promise<Finding[]> {
  const findings: Finding[] = [...(await storage(config))];
  const entra = config.auth.entra;
  if (!config.auth.enabled || entra === undefined) {
    findings.push({
      check: 'Sign-in',
      outcome: 'note',
      text: 'off (MCP_ENABLE_AUTH=false or no MCP_AZURE_CLIENT_ID): every caller is the development user; never run so in production.',
    });
  } else {
    findings.push(...(await tenant(config, entra)));
  }
  findings.push(await publicUrl(config));
  return findings;
}

async function storage(config: GatehouseConfig): Promise<Finding[]> {
  const findings: Finding[] = [];
  const stores = openStores(config);
  try {
    const durable = stores.durable.backend;
    try {
      await withTimeout(stores.durable.ping(), 'the database');
      findings.push({
        check: 'Database',
        outcome: 'ok',
        text: durable === 'sqlite' ? `SQLite at ${config.storage.sqliteFile}` : `${durable} answers`,
      });
    } catch (error) {
      findings.push({
        check: 'Database',
        outcome: 'problem',
        text:
          durable === 'sqlite'
            ? `SQLite at ${config.storage.sqliteFile} cannot be opened (${reason(error)}): make GATEHOUSE_DATA_DIR a writable directory.`
            : `${durable} did not answer (${reason(error)}): start it, or fix the host, port, user or database in DATABASE_URL.`,
      });
    }
    if (config.storage.redisUrl !== undefined) {
      try {
        await withTimeout(stores.ephemeral.ping(), 'Redis');
        findings.push({ check: 'Redis', outcome: 'ok', text: 'answers' });
      } catch (error) {
        findings.push({
          check: 'Redis',
          outcome: 'problem',
          text: `Redis did not answer (${reason(error)}): start it, or fix REDIS_URL (or unset it to keep short-lived state in the database).`,
        });
      }
    }
  } finally {
    await stores.close().catch(() => {});
  }
  return findings;
}

type Entra = NonNullable<GatehouseConfig['auth']['entra']>;

async function tenant(config: GatehouseConfig, entra: Entra): Promise<Finding[]> {
  const findings: Finding[] = [];
  const issuer = new URL(`${entra.authorityHost}/${entra.tenant}/v2.0`);
  const discovery = `${issuer}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(discovery, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    return [
      {
        check: 'Tenant',
        outcome: 'problem',
        text: `${entra.authorityHost} did not answer (${reason(error)}): check MCP_AZURE_AUTHORITY_HOST and this machine's outbound HTTPS access.`,
      },
    ];
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error_description?: string };
    return [
      {
        check: 'Tenant',
        outcome: 'problem',
        text: `Entra ID does not know tenant '${entra.tenant}' (${aadsts(body.error_description) ?? `HTTP ${response.status}`}): set MCP_AZURE_TENANT_ID to the Directory (tenant) ID on the app registration's Overview page.`,
      },
    ];
  }
  findings.push({ check: 'Tenant', outcome: 'ok', text: `${entra.tenant} at ${entra.authorityHost}` });

  const date = Date.parse(response.headers.get('date') ?? '');
  if (!Number.isNaN(date)) {
    const skew = Math.round((Date.now() - date) / 1000);
    findings.push(
      Math.abs(skew) > config.auth.clockSkewSeconds
        ? {
            check: 'Clock',
            outcome: 'problem',
            text: `this machine's clock is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} Entra ID's, more than the ${config.auth.clockSkewSeconds} s tolerated (MCP_AZURE_CLOCK_SKEW): synchronise it (NTP).`,
          }
        : { check: 'Clock', outcome: 'ok', text: `within ${Math.max(1, Math.abs(skew))} s of Entra ID's` },
    );
  }

  const credential = config.auth.entraCredential;
  if (credential === undefined) {
    findings.push({
      check: 'Credential',
      outcome: 'note',
      text: 'none (no MCP_AZURE_CLIENT_SECRET, certificate or federated token): clients must bring Entra tokens themselves (VS Code can); set one for every other client to sign in through Gatehouse.',
    });
    return findings;
  }
  const variable =
    credential.kind === 'secret'
      ? 'MCP_AZURE_CLIENT_SECRET'
      : credential.kind === 'certificate'
        ? 'MCP_AZURE_CLIENT_CERTIFICATE_PATH'
        : 'MCP_AZURE_FEDERATED_TOKEN_FILE';
  let configuration: oidc.Configuration;
  try {
    let tokenEndpoint: string | undefined;
    configuration = await oidc.discovery(
      issuer,
      entra.clientId,
      undefined,
      await clientAuthentication(credential, () => tokenEndpoint),
      { ...(issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}), timeout: 10 },
    );
    tokenEndpoint = configuration.serverMetadata().token_endpoint;
    // The app asks for a token for itself (GUID form: Entra refuses the URI form, AADSTS90009).
    await oidc.clientCredentialsGrant(configuration, { scope: `${entra.clientId}/.default` });
    findings.push({
      check: 'Credential',
      outcome: 'ok',
      text: `Entra ID accepted the ${credential.kind} of app ${entra.clientId}`,
    });
  } catch (error) {
    const code = aadsts(errorDescription(error));
    findings.push({
      check: 'Credential',
      outcome: 'problem',
      text: credentialProblem(code, variable, entra),
    });
    return findings;
  }

  findings.push(await signInProbe(config, entra, configuration));
  return findings;
}

function credentialProblem(code: string | undefined, variable: string, entra: Entra): string {
  switch (code) {
    case 'AADSTS7000215':
    case 'AADSTS7000222':
      return `Entra ID refused the client secret (${code}): put a current secret's Value (not its Secret ID) from the app registration's Certificates & secrets into ${variable}.`;
    case 'AADSTS700027':
    case 'AADSTS700024':
      return `Entra ID refused the client assertion (${code}): upload the certificate in ${variable} to the app registration (Certificates & secrets), or fix the federated credential.`;
    case 'AADSTS700016':
      return `Entra ID has no app ${entra.clientId} in tenant ${entra.tenant} (${code}): set MCP_AZURE_CLIENT_ID to the Application (client) ID of the app registration in that tenant.`;
    default:
      return `Entra ID refused the app's credential (${code ?? 'no AADSTS code'}): check ${variable} and MCP_AZURE_CLIENT_ID.`;
  }
}

/**
 * A silent sign-in request (prompt=none) as Gatehouse will send it: Entra checks the client, the
 * redirect URI and the scopes before it looks for a session, so "login required" means all three
 * are right, and anything else names what is not.
 */
async function signInProbe(config: GatehouseConfig, entra: Entra, configuration: oidc.Configuration) {
  const redirectUri = `${config.server.baseUrl}/auth/callback`;
  const names = config.auth.scopeNames;
  const scopes = [names.discover, names.toolsRead, names.toolsExecute, names.chat];
  const url = oidc.buildAuthorizationUrl(configuration, {
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: [
      ...scopes.map((scope) => `${entra.clientId}/${scope}`),
      'openid',
      'profile',
      'offline_access',
    ].join(' '),
    prompt: 'none',
    state: 'gatehouse-doctor',
    code_challenge: oidc.randomPKCECodeVerifier().slice(0, 43),
    code_challenge_method: 'S256',
  });
  const check = 'Sign-in request';
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    return { check, outcome: 'problem' as const, text: `Entra ID did not answer (${reason(error)}).` };
  }
  const location = response.headers.get('location');
  if (location?.startsWith(redirectUri)) {
    const answer = new URL(location).searchParams;
    const error = answer.get('error');
    const code = aadsts(answer.get('error_description') ?? undefined);
    if (error === null || error === 'login_required' || error === 'interaction_required')
      return {
        check,
        outcome: 'ok' as const,
        text: `Entra ID accepts the redirect URI ${redirectUri} and the scopes ${scopes.join(', ')}`,
      };
    if (error === 'invalid_scope' || code === 'AADSTS70011' || code === 'AADSTS65005')
      return {
        check,
        outcome: 'problem' as const,
        text: `the app does not expose a scope Gatehouse asks for (${code ?? error}): add ${scopes.join(', ')} under the app registration's Expose an API, or rename Gatehouse's with MCP_AZURE_SCOPES.`,
      };
    return {
      check,
      outcome: 'problem' as const,
      text: `Entra ID refused the sign-in request: ${error} (${code ?? 'no AADSTS code'}).`,
    };
  }
  const page = await response.text().catch(() => '');
  const code = /AADSTS\d+/.exec(page)?.[0];
  if (code === 'AADSTS50011')
    return {
      check,
      outcome: 'problem' as const,
      text: `the redirect URI ${redirectUri} is not registered on app ${entra.clientId} (${code}): add it as a Web redirect URI (Authentication), or set MCP_SERVER_BASE_URL to the URL users reach Gatehouse at.`,
    };
  if (code === 'AADSTS700016')
    return {
      check,
      outcome: 'problem' as const,
      text: `Entra ID has no app ${entra.clientId} in tenant ${entra.tenant} (${code}): set MCP_AZURE_CLIENT_ID to the app registration's Application (client) ID.`,
    };
  return {
    check,
    outcome: 'problem' as const,
    text: `Entra ID answered the sign-in request with HTTP ${response.status}${code ? ` (${code})` : ''} instead of sending it back to ${redirectUri}.`,
  };
}

async function publicUrl(config: GatehouseConfig): Promise<Finding> {
  const base = config.server.baseUrl;
  try {
    const response = await fetch(`${base}/`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body = (await response.json().catch(() => undefined)) as
      | { name?: unknown; mcp?: unknown }
      | undefined;
    if (response.ok && body?.name === 'Gatehouse' && body.mcp === `${base}/mcp`)
      return { check: 'Public URL', outcome: 'ok', text: `${base} answers as this Gatehouse` };
    return {
      check: 'Public URL',
      outcome: 'problem',
      text: `${base} answers, but not as a Gatehouse with this public URL (HTTP ${response.status}): set MCP_SERVER_BASE_URL to the URL clients reach Gatehouse at.`,
    };
  } catch {
    return {
      check: 'Public URL',
      outcome: 'note',
      text: `nothing answers at ${base} yet; once Gatehouse runs, clients must reach it there (MCP_SERVER_BASE_URL).`,
    };
  }
}

function errorDescription(error: unknown): string | undefined {
  if (error instanceof oidc.ResponseBodyError) return String(error.error_description ?? error.error);
  return error instanceof Error ? error.message : undefined;
}

/** The AADSTS code at the start of an Entra error description. */
function aadsts(description: string | undefined): string | undefined {
  return description === undefined ? undefined : /AADSTS\d+/.exec(description)?.[0];
}

function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  const code = (error as { code?: string }).code ?? cause?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} did not answer within ${TIMEOUT_MS / 1000} s`)),
        TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}
