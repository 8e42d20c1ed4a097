import { createServer } from 'node:http';
import type { Browser } from 'playwright-core';
import { PASSWORDS, type SeededUser } from '../dev-entra/helpers.js';
import { BrowserOAuthProvider } from './oauth-fixture.js';

/**
 * A BrowserOAuthProvider that follows the sign-in wherever it goes: the consent page (Allow), then
 * as many Entra sign-in pages as come (a step-up with a claims challenge shows a second one), until
 * the browser reaches the client's redirect URI or stops on some other page (an error page), whose
 * text is then kept.
 */
export class SteppingOAuthProvider extends BrowserOAuthProvider {
  /** The Entra /authorize URLs the browser was sent to, in order. */
  entraAuthorizeUrls: URL[] = [];
  /** The text of the page the browser stopped on when it was not the redirect URI. */
  stoppedOn: { url: string; text: string } | undefined;

  constructor(
    private readonly browserRef: Browser,
    private readonly signInAs: SeededUser,
    redirectUrl: string,
  ) {
    super(browserRef, signInAs, redirectUrl);
  }

  override async redirectToAuthorization(url: URL): Promise<void> {
    this.code = undefined;
    this.stoppedOn = undefined;
    const context = await this.browserRef.newContext();
    const page = await context.newPage();
    const redirect = new URL(this.redirectUrl);
    const listener = createServer((_request, response) =>
      response.writeHead(200, { 'content-type': 'text/plain' }).end('Signed in; you can close this window.'),
    );
    await new Promise<void>((resolve) => listener.listen(Number(redirect.port), redirect.hostname, resolve));
    try {
      await page.goto(url.toString());
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[value=allow]')]);
      for (let round = 0; round < 4; round++) {
        const here = new URL(page.url());
        if (here.origin === redirect.origin && here.pathname === redirect.pathname) {
          this.code = here.searchParams.get('code') ?? undefined;
          return;
        }
        if ((await page.locator('form#sign-in').count()) === 0) {
          this.stoppedOn = { url: page.url(), text: await page.innerText('body') };
          return;
        }
        this.entraAuthorizeUrls.push(here);
        await page.fill('#username', this.signInAs);
        await page.fill('#password', PASSWORDS[this.signInAs]);
        await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#submit')]);
      }
      throw new Error(`the sign-in did not finish; last page ${page.url()}`);
    } finally {
      await context.close();
      await new Promise((resolve) => listener.close(resolve));
    }
  }
}
