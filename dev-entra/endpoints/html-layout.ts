import { escapeHtml } from '../lib/encoding.js';

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f2f2f2;margin:0;color:#1b1b1b}
main{max-width:440px;margin:48px auto;background:#fff;padding:32px 40px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
.banner{background:#fff4ce;border:1px solid #c19c00;padding:8px 12px;font-size:13px;margin-bottom:20px}
h1{font-size:24px;font-weight:600;margin:0 0 16px}
label{display:block;font-size:14px;margin:12px 0 4px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:8px;font-size:15px;border:1px solid #8a8a8a}
button{background:#0067b8;color:#fff;border:0;padding:8px 24px;font-size:15px;margin-top:16px;cursor:pointer}
button.secondary{background:#ccc;color:#1b1b1b}
.error{color:#a4262c;font-size:14px;margin:12px 0}
.note{font-size:13px;color:#444;margin:8px 0}
ul.accounts{list-style:none;padding:0}
ul.accounts li{border-top:1px solid #ddd;padding:6px 0}
ul.accounts form{display:flex;justify-content:space-between;align-items:center}
ul.accounts button{margin:0;padding:6px 12px;font-size:14px}
code{font-size:13px}
`;

/** Every page says it is an emulator, so nobody mistakes it for a real sign-in. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} - Gatehouse dev-entra</title><style>${STYLE}</style></head>
<body><main>
<div class="banner" role="note"><strong>Development only.</strong> Gatehouse dev-entra emulates Microsoft Entra ID with seeded test users. Never use it in production.</div>
${body}
</main></body></html>`;
}

export function errorPage(code: number, message: string): string {
  return page(
    'Sign-in error',
    `<h1>Sorry, but we're having trouble signing you in.</h1>
<p class="error" id="error-code">AADSTS${code}: ${escapeHtml(message)}</p>
<p class="note">No redirect was made because the request could not be trusted to return to the application.</p>`,
  );
}
