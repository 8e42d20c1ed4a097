import { readFileSync } from 'node:fs';
import defaultSeedFile from './seed.json' with { type: 'json' };

/** One seeded user. `id` is the directory object id (`oid`, Graph `id`). */
export interface SeedUser {
  id: string;
  userName: string;
  userPrincipalName?: string;
  displayName: string;
  givenName?: string;
  surname?: string;
  jobTitle?: string;
  mail?: string;
  password: string;
  groups: string[];
  appRoles: { resource: string; role: string }[];
}

export interface SeedGroup {
  id: string;
  displayName: string;
}

export interface SeedSecret {
  value: string;
  hint?: string;
  expiresAt?: string;
}

export interface SeedScope {
  id: string;
  value: string;
}

/**
 * A federated identity credential (Graph `federatedIdentityCredential`): the app trusts tokens of
 * an external issuer for this subject and audience as client assertions (workload identity).
 */
export interface SeedFederatedCredential {
  name: string;
  /** Compared exactly and case-sensitively with the assertion's `iss`, as Entra does. */
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface SeedAppRole {
  id: string;
  value: string;
  displayName?: string;
  allowedMemberTypes: ('User' | 'Application')[];
}

export interface SeedApplication {
  appId: string;
  servicePrincipalId: string;
  displayName: string;
  identifierUris: string[];
  /** `null`/1 → v1 access tokens, 2 → v2 (the manifest's `accessTokenAcceptedVersion`). */
  accessTokenAcceptedVersion: 1 | 2 | null;
  publicClient: boolean;
  isMicrosoftGraph: boolean;
  groupMembershipClaims: 'None' | 'SecurityGroup' | 'All';
  optionalClaims: { accessToken: string[]; idToken: string[] };
  secrets: SeedSecret[];
  /** PEM certificates whose private keys may sign client assertions. */
  certificates: string[];
  federatedIdentityCredentials: SeedFederatedCredential[];
  redirectUris: { web: string[]; spa: string[]; publicClient: string[] };
  scopes: SeedScope[];
  appRoles: SeedAppRole[];
  preAuthorizedApplications: { appId: string; scopes: string[] }[];
  /** Permissions this app holds on other APIs, all admin-consented for the tenant. */
  apiPermissions: { resource: string; scopes: string[]; roles: string[] }[];
}

export type ResourceParameterMode = 'reject' | 'ignore' | 'match';

export interface Switches {
  /** Above this many groups a token carries `_claim_names`/`_claim_sources` instead of `groups`. */
  groupsOverageLimit: number;
  /** Users (userName, UPN or oid) whose on-behalf-of requests need MFA first. */
  mfaChallengeUsers: string[];
  /** What v2 does with the RFC 8707 `resource` parameter. */
  resourceParameter: ResourceParameterMode;
  /** Added to the emulator's clock, to look like an identity provider whose clock is off. */
  clockOffsetSeconds: number;
  /**
   * Conditional Access on refresh: users (userName, UPN or oid) whose refresh tokens, from sign-ins
   * made before this switch was last set, are refused with `refreshRefusalCode`. A sign-in made
   * afterwards satisfies the policy, as the user's new sign-in (with MFA) would at Entra.
   */
  refreshRefusalUsers: string[];
  /**
   * 70043 (sign-in frequency: `invalid_grant`), 50076 (MFA required) or 50079 (MFA registration
   * required), both `interaction_required` with a `claims` challenge.
   */
  refreshRefusalCode: RefreshRefusalCode;
  /**
   * Users (userName, UPN or oid) an administrator has disabled: Graph reports them with
   * `accountEnabled: false`. Sign-in is not blocked (see docs/dev-entra.md), so that a gateway's
   * own check of the account can be tested.
   */
  disabledUsers: string[];
}

export const REFRESH_REFUSAL_CODES = [70043, 50076, 50079] as const;
export type RefreshRefusalCode = (typeof REFRESH_REFUSAL_CODES)[number];

export interface Seed {
  tenant: { id: string; domain: string; displayName: string };
  groups: SeedGroup[];
  users: SeedUser[];
  applications: SeedApplication[];
  switches: Switches;
}

/** What a seed file may leave out; `normalizeSeed` fills in the defaults. */
export type SeedInput = {
  tenant: Seed['tenant'];
  groups?: SeedGroup[];
  users: (Omit<SeedUser, 'groups' | 'appRoles'> & Partial<Pick<SeedUser, 'groups' | 'appRoles'>>)[];
  applications: (Pick<SeedApplication, 'appId' | 'servicePrincipalId' | 'displayName'> &
    Partial<
      Omit<
        SeedApplication,
        'appId' | 'servicePrincipalId' | 'displayName' | 'redirectUris' | 'federatedIdentityCredentials'
      >
    > & {
      redirectUris?: Partial<SeedApplication['redirectUris']>;
      federatedIdentityCredentials?: (Omit<SeedFederatedCredential, 'audiences'> & {
        audiences?: string[];
      })[];
    })[];
  switches?: Partial<Switches>;
};

export const DEFAULT_SWITCHES: Readonly<Switches> = Object.freeze({
  groupsOverageLimit: 200,
  mfaChallengeUsers: [],
  resourceParameter: 'reject',
  clockOffsetSeconds: 0,
  refreshRefusalUsers: [],
  refreshRefusalCode: 70043,
  disabledUsers: [],
});

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class SeedError extends Error {
  override name = 'SeedError';
}

function requireGuid(value: unknown, where: string): string {
  if (typeof value !== 'string' || !GUID.test(value)) {
    throw new SeedError(`${where} must be a GUID (got ${JSON.stringify(value)})`);
  }
  return value.toLowerCase();
}

function requireString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new SeedError(`${where} must be a non-empty string`);
  return value;
}

/** The audience Entra's own documentation gives federated credentials (public cloud). */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

export function federatedCredential(
  input: Partial<SeedFederatedCredential>,
  where: string,
): SeedFederatedCredential {
  const audiences = input.audiences ?? [TOKEN_EXCHANGE_AUDIENCE];
  if (!Array.isArray(audiences) || audiences.length !== 1 || typeof audiences[0] !== 'string') {
    // Entra allows exactly one audience per federated credential.
    throw new SeedError(`${where}.audiences must hold exactly one audience`);
  }
  return {
    name: requireString(input.name, `${where}.name`),
    issuer: requireString(input.issuer, `${where}.issuer`),
    subject: requireString(input.subject, `${where}.subject`),
    audiences,
  };
}

export function loadSeed(source?: SeedInput | string): Seed {
  // Imported rather than read, so the compiled build carries the default seed with it.
  const input: unknown =
    source === undefined
      ? defaultSeedFile
      : typeof source === 'object'
        ? source
        : JSON.parse(readFileSync(source, 'utf8'));
  return normalizeSeed(input as SeedInput);
}

/** Validates once and fills defaults, so the rest of the emulator can trust the shape. */
export function normalizeSeed(input: SeedInput): Seed {
  if (typeof input !== 'object' || input === null) throw new SeedError('seed must be a JSON object');
  const tenant = {
    id: requireGuid(input.tenant?.id, 'tenant.id'),
    domain: requireString(input.tenant?.domain, 'tenant.domain').toLowerCase(),
    displayName: input.tenant.displayName ?? input.tenant.domain,
  };
  const groups = (input.groups ?? []).map((g, i) => ({
    id: requireGuid(g.id, `groups[${i}].id`),
    displayName: requireString(g.displayName, `groups[${i}].displayName`),
  }));
  const users = (input.users ?? []).map((u, i): SeedUser => {
    const userName = requireString(u.userName, `users[${i}].userName`);
    const upn = u.userPrincipalName ?? `${userName}@${tenant.domain}`;
    return {
      ...u,
      id: requireGuid(u.id, `users[${i}].id`),
      userName,
      userPrincipalName: upn,
      mail: u.mail ?? upn,
      displayName: requireString(u.displayName, `users[${i}].displayName`),
      password: requireString(u.password, `users[${i}].password`),
      groups: (u.groups ?? []).map((g, j) => requireGuid(g, `users[${i}].groups[${j}]`)),
      appRoles: u.appRoles ?? [],
    };
  });
  const applications = (input.applications ?? []).map(
    (a, i): SeedApplication => ({
      appId: requireGuid(a.appId, `applications[${i}].appId`),
      servicePrincipalId: requireGuid(a.servicePrincipalId, `applications[${i}].servicePrincipalId`),
      displayName: requireString(a.displayName, `applications[${i}].displayName`),
      identifierUris: a.identifierUris ?? [],
      accessTokenAcceptedVersion: a.accessTokenAcceptedVersion ?? null,
      publicClient: a.publicClient ?? false,
      isMicrosoftGraph: a.isMicrosoftGraph ?? false,
      groupMembershipClaims: a.groupMembershipClaims ?? 'None',
      optionalClaims: { accessToken: [], idToken: [], ...a.optionalClaims },
      secrets: a.secrets ?? [],
      certificates: a.certificates ?? [],
      federatedIdentityCredentials: (a.federatedIdentityCredentials ?? []).map((f, j) =>
        federatedCredential(f, `applications[${i}].federatedIdentityCredentials[${j}]`),
      ),
      redirectUris: { web: [], spa: [], publicClient: [], ...a.redirectUris },
      scopes: a.scopes ?? [],
      appRoles: a.appRoles ?? [],
      preAuthorizedApplications: a.preAuthorizedApplications ?? [],
      apiPermissions: a.apiPermissions ?? [],
    }),
  );
  const switches: Switches = { ...DEFAULT_SWITCHES, ...input.switches };
  if (!['reject', 'ignore', 'match'].includes(switches.resourceParameter)) {
    throw new SeedError("switches.resourceParameter must be 'reject', 'ignore' or 'match'");
  }
  if (!REFRESH_REFUSAL_CODES.includes(switches.refreshRefusalCode)) {
    throw new SeedError(`switches.refreshRefusalCode must be one of ${REFRESH_REFUSAL_CODES.join(', ')}`);
  }
  const groupIds = new Set(groups.map((g) => g.id));
  for (const u of users) {
    for (const g of u.groups) {
      if (!groupIds.has(g))
        throw new SeedError(`user ${u.userName} is in group ${g}, which is not in groups[]`);
    }
  }
  return { tenant, groups, users, applications, switches };
}
