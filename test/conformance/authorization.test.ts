import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type OAuthFixture, startOAuthFixture } from '../helpers/oauth-fixture.js';
import {
  BROWSER_SCRIPT,
  CONFORMANCE,
  compareWithBaseline,
  expectedFailures,
  failed,
  readChecks,
  runConformance,
  summary,
} from './conformance-cli.js';

interface BrowserRun {
  url: string;
  done: Promise<{ code: number | null; stderr: string }>;
}

/** Opens `url` in the form-submitting browser script, as a person would in a real browser. */
function openBrowser(url: string, log: string): BrowserRun {
  const child = spawn(process.execPath, [BROWSER_SCRIPT, url], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SIGN_IN_USER: 'alice', SUBMIT_FORMS_LOG: log },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return { url, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr }))) };
}

// The authorization-server scenarios of the MCP conformance suite (0.2 line) against Gatehouse's
// issuer: RFC 8414 metadata, and the authorization code grant with PKCE through Gatehouse's consent
// page and the sign-in at the Entra emulator. The CLI prints the authorize URL and waits for the
// browser on its callback port; here the form-submitting browser script plays the user (alice).
describe('MCP conformance: authorization-server scenarios against Gatehouse', () => {
  let f: OAuthFixture;
  let work: string;
  beforeAll(async () => {
    f = await startOAuthFixture();
    work = mkdtempSync(path.join(tmpdir(), 'gatehouse-conformance-as-'));
  });
  afterAll(async () => {
    await f?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  // Run as is, and filtered to what MCP 2026-07-28 requires of an authorization server.
  it.each([
    ['every revision', []],
    ['--spec-version 2026-07-28', ['--spec-version', '2026-07-28']],
  ] as const)(
    '%s: passes every scenario except the expected failures, and fails all of those',
    async (label, extraArgs) => {
      const issuer = f.config.server.baseUrl;
      const port = await freePort();
      const redirectUri = `http://127.0.0.1:${port}/callback`;
      // The scenario needs a client registered for its callback: registered the way MCP clients do (RFC 7591).
      const registration = await fetch(`${issuer}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_name: 'MCP conformance suite',
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
        }),
      });
      expect(registration.status).toBe(201);
      const { client_id: clientId } = (await registration.json()) as { client_id: string };

      const runName = label.replace(/[^a-z0-9]+/gi, '-');
      const outputDir = path.join(work, `results-${runName}`);
      const browserLog = path.join(work, `browser-${runName}.jsonl`);
      const browsers: BrowserRun[] = [];
      const run = await runConformance(
        CONFORMANCE.authorization,
        [
          'authorization',
          '--url',
          issuer,
          '--client-id',
          clientId,
          '--resource',
          f.mcpUrl,
          '-p',
          String(port),
          '-o',
          outputDir,
          ...extraArgs,
        ],
        (line, cli) => {
          if (!line.startsWith(`${issuer}/authorize?`)) return;
          const browser = openBrowser(line, browserLog);
          browsers.push(browser);
          // A browser that gave up never reaches the callback: stop the CLI instead of letting it wait.
          void browser.done.then(({ code }) => {
            if (code !== 0) cli.kill();
          });
        },
      );
      const report = `conformance exited ${run.code}\n${summary(run.stdout)}\n${run.stderr.slice(-2000)}`;
      const results = readChecks(outputDir, 'authorization-server-');

      // Both scenarios ran, and the code-grant scenario really went through the pages: one browser
      // run that approved on the consent page, signed in at the emulator and reached the callback.
      expect([...results.keys()].sort(), report).toEqual(
        ['authorization-code-grant', 'authorization-server-metadata-endpoint'].sort(),
      );
      expect(browsers, report).toHaveLength(1);
      const browser = await browsers[0]!.done;
      expect(browser.code, browser.stderr).toBe(0);
      const pages = existsSync(browserLog)
        ? readFileSync(browserLog, 'utf8')
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as { kind: string; url: string; status?: number })
        : [];
      expect(pages.find((page) => page.kind === 'consent')?.url).toMatch(
        new RegExp(`^${issuer}/interaction/`),
      );
      expect(pages.find((page) => page.kind === 'sign-in')?.url).toContain(
        `${f.entra.url}/${f.entra.tenantId}/oauth2/v2.0/authorize`,
      );
      const callback = pages.find((page) => page.kind === 'callback');
      expect(callback?.url.startsWith(`${redirectUri}?`)).toBe(true);
      expect(new URL(callback!.url).searchParams.get('iss')).toBe(issuer);

      const metadata = results.get('authorization-server-metadata-endpoint')!;
      // Metadata: valid, issuer exactly the URL given, and client ID metadata documents advertised.
      expect(
        metadata.map((check) => [check.id, check.status]),
        report,
      ).toEqual([
        ['authorization-server-metadata', 'SUCCESS'],
        ['authorization-server-metadata-cimd', 'SUCCESS'],
      ]);

      // The baseline: scenarios listed under `authorization:` in expected-failures.yml must fail (each
      // names its reason there), every other one must pass with at least one successful check.
      const expected = expectedFailures('authorization');
      expect(expected.filter((scenario) => !results.has(scenario))).toEqual([]);
      expect(compareWithBaseline(results, expected), report).toEqual({
        unexpectedFailures: [],
        staleEntries: [],
      });
      for (const [scenario, checks] of results) {
        if (expected.includes(scenario)) continue;
        expect(
          checks.some((check) => check.status === 'SUCCESS'),
          `${scenario} has no successful check\n${report}`,
        ).toBe(true);
      }
      expect(run.code, report).toBe([...results.values()].some(failed) ? 1 : 0);
    },
    300_000,
  );
});
