import { CLIENTS } from './client-snippets.js';
import type { Viewer } from './context.js';
import type { GrantListing } from './grants.js';
import { html, page } from './html.js';

export interface LandingView {
  version: string;
  mcpUrl: string;
  signInAvailable: boolean;
  viewer: Viewer | undefined;
  grants: GrantListing[];
  revoked: boolean;
}

/** The page a browser gets at /: what Gatehouse is, and for a signed-in user their access. */
export function landingPage(view: LandingView): string {
  const { viewer } = view;
  const intro = html`<h1>Gatehouse</h1>
<p>Gatehouse serves MCP tools behind Microsoft Entra ID sign-in: its own tools and those of the MCP
servers behind it. Point your MCP client (Claude Code, VS Code, Cursor, …) at this URL; it opens the
browser for you to sign in.</p>
<p>MCP URL: <code id="mcp-url">${view.mcpUrl}</code></p>`;
  if (viewer === undefined) {
    const signIn = view.signInAvailable
      ? html`<p><a class="button" id="sign-in" href="/auth/login">Sign in</a> to see your roles, the applications you have allowed, and what to paste into your IDE.</p>`
      : html`<p class="note">Browser sign-in is not available: this Gatehouse holds no Entra credential.</p>`;
    return page({ title: 'Gatehouse' }, html`${intro}${signIn}<p class="note">Version ${view.version}.</p>`);
  }
  const isAdmin = viewer.roles.includes('admin');
  const roles =
    viewer.roles.length === 0
      ? html`<p class="bad">You hold no role in Gatehouse yet: ask an administrator to add you to a team.</p>`
      : html`<p>Your roles: <span id="roles">${viewer.roles.join(', ')}</span>${
          viewer.memberships.length > 0
            ? html` (memberships: ${viewer.memberships
                .map((m) => `${m.org}${m.team ? `/${m.team}` : ''}: ${m.role}`)
                .join('; ')})`
            : ''
        }.</p>`;
  const grants =
    view.grants.length === 0
      ? html`<p class="note">You have not allowed any application yet.</p>`
      : html`<table id="grants"><tr><th>Application</th><th>Scopes</th><th>Allowed</th><th></th></tr>${view.grants.map(
          (grant) => html`<tr><td>${grant.clientName}<br><span class="note">${grant.clientId}</span></td>
<td>${grant.scopes.join(' ')}</td><td>${grant.issuedAt ?? ''}</td>
<td><form method="post" action="/grants/${encodeURIComponent(grant.id)}/revoke"><input type="hidden" name="csrf" value="${viewer.csrfToken}"><button class="danger" type="submit">Revoke</button></form></td></tr>`,
        )}</table>`;
  const snippets = Object.entries(CLIENTS).map(
    ([key, shape]) => html`<h3 id="client-${key}">${shape.title}</h3><p>${shape.where}</p>
<pre>${shape.snippet('gatehouse', view.mcpUrl)}</pre><p class="note">${shape.next}</p>`,
  );
  return page(
    {
      title: 'Gatehouse',
      nav: isAdmin ? [{ href: '/admin', label: 'Admin console' }] : [],
      signedInAs: viewer.label,
      csrfToken: viewer.csrfToken,
    },
    html`${intro}
<h2>You</h2><p>Signed in as <strong id="who">${viewer.label}</strong>${
      viewer.session.via === 'break-glass' ? ' (break-glass local admin)' : ''
    }.</p>${roles}
<h2>Applications you have allowed</h2>${view.revoked ? html`<p class="flash">The grant was revoked: that application must ask you again.</p>` : ''}${grants}
<h2>Connect your IDE</h2>${snippets}
<p class="note">Version ${view.version}.</p>`,
  );
}
