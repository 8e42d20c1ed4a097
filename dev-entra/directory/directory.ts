import { createHmac } from 'node:crypto';
import type { Seed, SeedApplication, SeedFederatedCredential, SeedUser } from '../seed.js';

export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

export type TenantSegmentKind = 'tenant' | 'common' | 'organizations';

/** Read-only lookups over the seed: users, apps, roles, groups and permissions. */
export class Directory {
  /** Runtime-registered certificates (PEM) per app id, on top of the seed's. */
  private readonly extraCertificates = new Map<string, string[]>();
  /** Runtime-added federated identity credentials per app id, on top of the seed's. */
  private readonly extraFederatedCredentials = new Map<string, SeedFederatedCredential[]>();
  /** Keys the pairwise `sub`; fixed per tenant so `sub` is stable across restarts. */
  private readonly pairwiseKey: string;

  constructor(readonly seed: Seed) {
    this.pairwiseKey = `dev-entra-pairwise:${seed.tenant.id}`;
  }

  get tenantId(): string {
    return this.seed.tenant.id;
  }

  tenantSegment(segment: string): TenantSegmentKind | undefined {
    const s = segment.toLowerCase();
    if (s === this.seed.tenant.id || s === this.seed.tenant.domain) return 'tenant';
    if (s === 'common' || s === 'organizations') return s;
    return undefined;
  }

  app(appId: string | undefined): SeedApplication | undefined {
    if (!appId) return undefined;
    const id = appId.toLowerCase();
    return this.seed.applications.find((a) => a.appId === id);
  }

  appByServicePrincipal(id: string): SeedApplication | undefined {
    return this.seed.applications.find((a) => a.servicePrincipalId === id.toLowerCase());
  }

  /** Finds an API by its client id or one of its identifier URIs; `form` says which one matched. */
  resource(identifier: string): { app: SeedApplication; form: 'guid' | 'uri'; audience: string } | undefined {
    const byId = this.app(identifier);
    if (byId) return { app: byId, form: 'guid', audience: byId.appId };
    const wanted = identifier.toLowerCase().replace(/\/$/, '');
    for (const app of this.seed.applications) {
      const uri = app.identifierUris.find((u) => u.toLowerCase().replace(/\/$/, '') === wanted);
      if (uri) return { app, form: 'uri', audience: identifier };
    }
    return undefined;
  }

  get graph(): SeedApplication | undefined {
    return this.seed.applications.find((a) => a.isMicrosoftGraph || a.appId === GRAPH_APP_ID);
  }

  user(id: string): SeedUser | undefined {
    return this.seed.users.find((u) => u.id === id.toLowerCase());
  }

  /** Sign-in names: the short `userName`, the UPN, or the mail address. */
  userBySignInName(name: string): SeedUser | undefined {
    const n = name.trim().toLowerCase();
    return this.seed.users.find(
      (u) =>
        u.userName.toLowerCase() === n ||
        u.userPrincipalName?.toLowerCase() === n ||
        u.mail?.toLowerCase() === n,
    );
  }

  /** Matches the switch list, which may name users by userName, UPN or oid. */
  userIsListed(user: SeedUser, list: readonly string[]): boolean {
    const names = new Set([user.id, user.userName.toLowerCase(), user.userPrincipalName?.toLowerCase()]);
    return list.some((entry) => names.has(entry.toLowerCase()));
  }

  groupsOf(user: SeedUser): { id: string; displayName: string }[] {
    return user.groups.map((g) => this.seed.groups.find((x) => x.id === g)!).filter(Boolean);
  }

  /** The user's app roles on `resource`, as role values. */
  userRoles(user: SeedUser, resource: SeedApplication): string[] {
    const defined = new Set(
      resource.appRoles.filter((r) => r.allowedMemberTypes.includes('User')).map((r) => r.value),
    );
    return user.appRoles
      .filter((r) => r.resource === resource.appId && defined.has(r.role))
      .map((r) => r.role);
  }

  /** Application permissions `client` holds on `resource` (admin-consented app roles). */
  applicationRoles(client: SeedApplication, resource: SeedApplication): string[] {
    const defined = new Set(
      resource.appRoles.filter((r) => r.allowedMemberTypes.includes('Application')).map((r) => r.value),
    );
    return (client.apiPermissions.find((p) => p.resource === resource.appId)?.roles ?? []).filter((r) =>
      defined.has(r),
    );
  }

  /** Delegated scopes consented tenant-wide: admin consent plus pre-authorization. */
  tenantConsentedScopes(client: SeedApplication, resource: SeedApplication): Set<string> {
    const granted = new Set<string>(
      client.apiPermissions.find((p) => p.resource === resource.appId)?.scopes ?? [],
    );
    for (const s of resource.preAuthorizedApplications.find((p) => p.appId === client.appId)?.scopes ?? []) {
      granted.add(s);
    }
    return granted;
  }

  certificates(app: SeedApplication): string[] {
    return [...app.certificates, ...(this.extraCertificates.get(app.appId) ?? [])];
  }

  addCertificate(appId: string, pem: string): void {
    const app = this.app(appId);
    if (!app) throw new Error(`no application ${appId} in the seed`);
    this.extraCertificates.set(app.appId, [...(this.extraCertificates.get(app.appId) ?? []), pem]);
  }

  federatedCredentials(app: SeedApplication): SeedFederatedCredential[] {
    return [...app.federatedIdentityCredentials, ...(this.extraFederatedCredentials.get(app.appId) ?? [])];
  }

  addFederatedCredential(appId: string, credential: SeedFederatedCredential): void {
    const app = this.app(appId);
    if (!app) throw new Error(`no application ${appId} in the seed`);
    const existing = this.extraFederatedCredentials.get(app.appId) ?? [];
    this.extraFederatedCredentials.set(app.appId, [...existing, credential]);
  }

  /** Pairwise subject: stable per user and app, different across apps, like Entra's `sub`. */
  pairwiseSubject(userId: string, appId: string): string {
    return createHmac('sha256', this.pairwiseKey).update(`${appId}|${userId}`).digest('base64url');
  }
}
