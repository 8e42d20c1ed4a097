import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * CSRF protection of the consent form: a random value in a cookie of this browser, and in the form
 * an HMAC of it bound to one interaction. A form from another browser, another interaction (so
 * another client) or a forged page carries a token that does not verify.
 */
export class ConsentCsrf {
  constructor(private readonly secret: string) {}

  newBrowserValue(): string {
    return randomBytes(24).toString('base64url');
  }

  tokenFor(browserValue: string, interactionUid: string): string {
    return createHmac('sha256', this.secret)
      .update(`consent:${interactionUid}:${browserValue}`)
      .digest('base64url');
  }

  verify(browserValue: string | undefined, interactionUid: string, token: unknown): boolean {
    if (browserValue === undefined || typeof token !== 'string' || token.length === 0) return false;
    const expected = Buffer.from(this.tokenFor(browserValue, interactionUid));
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
