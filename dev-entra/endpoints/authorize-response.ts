import type { ServerResponse } from 'node:http';
import { escapeHtml } from '../lib/encoding.js';
import { redirect, sendHtml } from '../lib/http.js';
import type { PendingAuthorization } from '../state.js';
import { page } from './html-layout.js';

/** Returns `params` to the validated redirect URI in the requested response mode. */
export function sendAuthorizeResponse(
  res: ServerResponse,
  pending: PendingAuthorization,
  values: Record<string, string>,
  headers: Record<string, string | string[]> = {},
): void {
  const params = { ...values, ...(pending.state !== undefined ? { state: pending.state } : {}) };
  if (pending.responseMode === 'form_post') {
    const inputs = Object.entries(params)
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join('');
    // The script only saves a click; without JavaScript the button posts the same form.
    const html = page(
      'Working...',
      `<form method="post" name="hiddenform" action="${escapeHtml(pending.redirectUri)}">${inputs}
<noscript><p>Script is disabled. Click Submit to continue.</p></noscript><button type="submit">Submit</button></form>
<script>document.forms.hiddenform.submit();</script>`,
    );
    sendHtml(res, 200, html, headers);
    return;
  }
  const url = new URL(pending.redirectUri);
  const encoded = new URLSearchParams(params).toString();
  if (pending.responseMode === 'fragment') {
    url.hash = encoded;
  } else {
    for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v);
  }
  redirect(res, url.toString(), headers);
}
