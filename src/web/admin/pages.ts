import type { AuditPage, AuditQuery } from '../../ops/audit-log.js';
import type { MembershipRecord, UserRecord } from '../../storage/contract.js';
import type { ServerListing, Viewer } from '../context.js';
import type { GrantListing } from '../grants.js';
import { type Html, html, page } from '../html.js';

export const ADMIN_NAV = [
  { href: '/admin', label: 'Overview' },
  { href: '/admin/users', label: 'Users' },
  { href: '/admin/clients', label: 'Clients and grants' },
  { href: '/admin/servers', label: 'Servers' },
  { href: '/admin/audit', label: 'Audit' },
  { href: '/admin/config', label: 'Configuration' },
] as const;

export function adminPage(
  viewer: Viewer,
  current: string,
  title: string,
  body: Html,
  flash?: string,
): string {
  return page(
    { title, nav: ADMIN_NAV, current, signedInAs: viewer.label, csrfToken: viewer.csrfToken },
    html`<h1>${title}</h1>${flash ? html`<p class="flash" id="flash">${flash}</p>` : ''}${body}`,
  );
}

const csrfField = (viewer: Viewer) => html`<input type="hidden" name="csrf" value="${viewer.csrfToken}">`;

export interface OverviewView {
  version: string;
  uptimeSeconds: number;
  checks: { name: string; result: string }[];
  counts: { label: string; value: string }[];
}

export function overviewPage(viewer: Viewer, view: OverviewView): string {
  return adminPage(
    viewer,
    '/admin',
    'Overview',
    html`<div class="cards">${view.counts.map(
      (count) => html`<div class="card"><div class="n">${count.value}</div>${count.label}</div>`,
    )}</div>
<h2>Health</h2><table id="health"><tr><th>Check</th><th>Result</th></tr>${view.checks.map(
      (check) =>
        html`<tr><td>${check.name}</td><td class="${check.result === 'ok' ? 'ok' : 'bad'}">${check.result}</td></tr>`,
    )}</table>
<p>Version <strong>${view.version}</strong>, Node.js ${process.version}, up ${formatDuration(view.uptimeSeconds)}.
Signed in ${viewer.session.via === 'break-glass' ? 'with the break-glass local admin' : 'with Entra ID'}.</p>`,
  );
}

export interface UserRow {
  user: UserRecord;
  memberships: MembershipRecord[];
  /** What Entra said at the user's last MCP sign-in (Gatehouse-issued tokens), when known. */
  entraRoles: string[];
  /** Whether Gatehouse keeps what Entra said at an MCP sign-in (otherwise Entra's roles are unknown here). */
  entraKnown: boolean;
  roles: string[];
}

export function usersPage(viewer: Viewer, rows: UserRow[], flash?: string): string {
  const membershipCells = (row: UserRow) =>
    row.memberships.map(
      (m) => html`<div class="membership">${m.org}${m.team ? `/${m.team}` : ''}: <strong>${m.role}</strong>
<form class="inline" method="post" action="/admin/users/${row.user.id}/memberships/change">${csrfField(viewer)}
<input type="hidden" name="org" value="${m.org}"><input type="hidden" name="team" value="${m.team ?? ''}"><input type="hidden" name="role" value="${m.role}">
<input name="newRole" size="8" aria-label="New role" placeholder="new role" required> <button type="submit">Change</button></form>
<form class="inline" method="post" action="/admin/users/${row.user.id}/memberships/remove">${csrfField(viewer)}
<input type="hidden" name="org" value="${m.org}"><input type="hidden" name="team" value="${m.team ?? ''}"><input type="hidden" name="role" value="${m.role}">
<button class="danger" type="submit">Remove</button></form></div>`,
    );
  return adminPage(
    viewer,
    '/admin/users',
    'Users',
    html`<p class="note">Every person or application Gatehouse has seen. Roles come from Entra app roles, mapped
Entra groups (MCP_AZURE_GROUP_ROLES) and the memberships below, which you can add, change and remove.</p>
<table id="users"><tr><th>User</th><th>Roles</th><th>Memberships</th><th>Add a membership</th></tr>${rows.map(
      (row) => html`<tr data-user="${row.user.preferredUsername ?? row.user.objectId}">
<td><strong>${row.user.displayName ?? ''}</strong><br>${row.user.preferredUsername ?? ''}<br><span class="note">${row.user.tenantId}/${row.user.objectId}<br>last seen ${row.user.lastSeenAt.toISOString()}</span></td>
<td>${row.roles.join(', ') || (row.entraKnown ? html`<span class="bad">none</span>` : '')}${
        row.entraKnown
          ? row.entraRoles.length > 0
            ? html`<br><span class="note">from Entra: ${row.entraRoles.join(', ')}</span>`
            : ''
          : html`<br><span class="note">Entra app roles and groups: not kept for this user (they come with each token)</span>`
      }</td>
<td>${membershipCells(row)}</td>
<td><form method="post" action="/admin/users/${row.user.id}/memberships" class="add-membership">${csrfField(viewer)}
<input name="org" size="8" placeholder="organization" aria-label="Organization" required>
<input name="team" size="8" placeholder="team (optional)" aria-label="Team">
<input name="role" size="6" placeholder="role" aria-label="Role" value="user" required>
<button type="submit">Add</button></form></td></tr>`,
    )}</table>`,
    flash,
  );
}

export interface ClientRow {
  clientId: string;
  name: string;
  source: 'configured' | 'registered';
  redirectUris: string[];
}

export function clientsPage(
  viewer: Viewer,
  clients: ClientRow[],
  grants: (GrantListing & { userLabel: string })[],
  flash?: string,
): string {
  return adminPage(
    viewer,
    '/admin/clients',
    'OAuth clients and grants',
    html`<h2>Grants</h2><p class="note">A grant is a user's allowance of one client. Revoking it ends its access and refresh
tokens at once: the client's next request gets 401 and it must ask the user again.</p>
${
  grants.length === 0
    ? html`<p>No grants.</p>`
    : html`<table id="grants"><tr><th>User</th><th>Client</th><th>Scopes</th><th>Allowed</th><th>Expires</th><th></th></tr>${grants.map(
        (
          grant,
        ) => html`<tr data-grant="${grant.id}"><td>${grant.userLabel}</td><td>${grant.clientName}<br><span class="note">${grant.clientId}</span></td>
<td>${grant.scopes.join(' ')}</td><td>${grant.issuedAt ?? ''}</td><td>${grant.expiresAt ?? 'never'}</td>
<td><form method="post" action="/admin/grants/${encodeURIComponent(grant.id)}/revoke">${csrfField(viewer)}<button class="danger" type="submit">Revoke</button></form></td></tr>`,
      )}</table>`
}
<h2>Clients</h2>${
      clients.length === 0
        ? html`<p>No clients.</p>`
        : html`<table id="clients"><tr><th>Client</th><th>Client ID</th><th>Source</th><th>Redirect URIs</th></tr>${clients.map(
            (client) =>
              html`<tr><td>${client.name}</td><td><code>${client.clientId}</code></td><td>${client.source}</td><td>${client.redirectUris.join(' ')}</td></tr>`,
          )}</table>`
    }`,
    flash,
  );
}

export function serversPage(viewer: Viewer, servers: ServerListing[]): string {
  return adminPage(
    viewer,
    '/admin/servers',
    'Upstream servers',
    servers.length === 0
      ? html`<p>No upstream servers are configured. Declare them in the config file's <code>mcpServers</code> or register them through <code>/api/servers</code>.</p>`
      : html`<table id="servers"><tr><th>Name</th><th>Title</th><th>Transport</th><th>Enabled</th><th>Health</th><th>Circuit</th></tr>${servers.map(
          (
            server,
          ) => html`<tr><td><code>${server.name}</code></td><td>${server.title}</td><td>${server.transport}</td><td>${server.enabled ? 'yes' : 'no'}</td>
<td class="${server.status === 'healthy' ? 'ok' : server.status === 'disabled' ? '' : 'bad'}">${server.status}</td><td>${server.circuit}</td></tr>`,
        )}</table><p class="note">Details per server: <code>GET /api/servers/{name}/health</code>.</p>`,
  );
}

export function auditPage(
  viewer: Viewer,
  query: AuditQuery,
  result: AuditPage,
  nextHref: string | undefined,
): string {
  const value = (text: string | undefined) => text ?? '';
  const filters = html`<form method="get" action="/admin/audit" id="audit-search">
<input name="user" placeholder="user id" value="${value(query.userId)}" aria-label="User id">
<input name="type" placeholder="kind (admin.action, …)" value="${value(query.type)}" aria-label="Kind">
<input name="tool" placeholder="tool" value="${value(query.tool)}" aria-label="Tool">
<input name="server" placeholder="server" value="${value(query.server)}" aria-label="Server">
<input name="outcome" placeholder="outcome" value="${value(query.outcome)}" aria-label="Outcome">
<input name="since" placeholder="since (ISO time)" value="${query.since?.toISOString() ?? ''}" aria-label="Since">
<input name="until" placeholder="until (ISO time)" value="${query.until?.toISOString() ?? ''}" aria-label="Until">
<button type="submit">Search</button></form>`;
  return adminPage(
    viewer,
    '/admin/audit',
    'Audit log',
    html`${filters}${
      result.rows.length === 0
        ? html`<p>No events match.</p>`
        : html`<table id="audit"><tr><th>When</th><th>Kind</th><th>User</th><th>Action</th><th>Tool / server</th><th>Outcome</th><th>Details</th></tr>${result.rows.map(
            (
              row,
            ) => html`<tr><td>${row.at.toISOString()}</td><td>${row.type}</td><td>${row.userId ?? ''}</td><td>${row.action ?? ''}</td>
<td>${[row.tool, row.server].filter(Boolean).join(' @ ')}</td><td>${row.outcome}${row.errorCode ? ` (${row.errorCode})` : ''}</td>
<td><code>${JSON.stringify(row.details)}</code></td></tr>`,
          )}</table>`
    }${nextHref ? html`<p><a href="${nextHref}">Older events</a></p>` : ''}`,
  );
}

export function configPage(viewer: Viewer, configJson: string): string {
  return adminPage(
    viewer,
    '/admin/config',
    'Effective configuration',
    html`<p class="note">The configuration this instance runs with, after defaults and aliases; secrets are shown as [redacted].</p>
<pre id="config">${configJson}</pre>`,
  );
}

export function breakGlassPage(csrfToken: string, problem?: string): string {
  return page(
    { title: 'Break-glass login' },
    html`<h1>Break-glass login</h1>
<p class="note">For when Entra ID is unavailable: the local administrator account set up with
<code>gatehouse admin hash-password</code>. Every attempt is audited. Otherwise <a href="/auth/login?return=/admin">sign in with Entra ID</a>.</p>
${problem ? html`<p class="error" id="problem">${problem}</p>` : ''}
<form method="post" action="/admin/login" id="break-glass">
<input type="hidden" name="csrf" value="${csrfToken}">
<p><label>Username <input id="username" name="username" autocomplete="username" required></label></p>
<p><label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit" id="submit">Sign in</button></p></form>`,
  );
}

function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172800) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} days`;
}
