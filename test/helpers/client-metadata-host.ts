import { webcrypto } from 'node:crypto';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
// @peculiar/x509 loads tsyringe, which needs the Reflect metadata API before it is imported.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * The public HTTPS hosts of MCP clients' client ID metadata documents (claude.ai, vscode.dev …),
 * played by one local HTTPS server whose certificate, for those host names, is issued by a CA made
 * for the test. While `install()` is in effect, `fetch` to those hosts connects to that server over
 * real TLS, checking the certificate against the test CA and the host name (SNI); every other URL
 * goes to the real fetch. Gatehouse fetches the documents in this process, so it sees exactly what
 * it would see from the internet.
 */
export interface MetadataHost {
  /** PEM of the test CA. */
  readonly caPem: string;
  /** Serves `document` as JSON at `url` (one of the host names given at start). */
  serve(url: string, document: unknown, headers?: Record<string, string>): void;
  /** Requests the local server answered, by URL. */
  readonly requests: Map<string, number>;
  /** Routes fetch to the hosts through the local server; returns the function that undoes it. */
  install(): () => void;
  close(): Promise<void>;
}

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ECDSA_P256, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

/** A CA valid for a day and a server certificate it issued for `hostnames` (DNS names or IPv4 addresses). */
export async function testCertificates(hostnames: readonly string[]) {
  const notBefore = new Date(Date.now() - 3600_000);
  const notAfter = new Date(Date.now() + 24 * 3600_000);
  const caKeys = await keyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Gatehouse test CA for client metadata documents',
    keys: caKeys,
    signingAlgorithm: SIGNING,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = await keyPair();
  const leaf = await x509.X509CertificateGenerator.create({
    subject: `CN=${hostnames[0]}`,
    issuer: ca.subject,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: SIGNING,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        hostnames.map((value) => ({
          type: /^\d+(\.\d+){3}$/.test(value) ? ('ip' as const) : ('dns' as const),
          value,
        })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
  return {
    caPem: ca.toString('pem'),
    certPem: leaf.toString('pem'),
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}

export async function startMetadataHost(hostnames: readonly string[]): Promise<MetadataHost> {
  const { caPem, certPem, keyPem } = await testCertificates(hostnames);
  const documents = new Map<string, { body: string; headers: Record<string, string> }>();
  const requests = new Map<string, number>();
  const server: Server = createServer({ key: keyPem, cert: certPem }, (request, response) => {
    const url = `https://${request.headers.host}${request.url}`;
    requests.set(url, (requests.get(url) ?? 0) + 1);
    const document = documents.get(url);
    if (document === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', ...document.headers }).end(document.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const served = new Set(hostnames.map((host) => host.toLowerCase()));

  /** One GET over TLS to the local server, presenting `url`'s host name for SNI and certificate checks. */
  function get(url: URL, init: RequestInit | undefined): Promise<Response> {
    const headers: Record<string, string> = { host: url.host };
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    return new Promise((resolve, reject) => {
      const outgoing = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          servername: url.hostname,
          ca: caPem,
          method: init?.method ?? 'GET',
          path: `${url.pathname}${url.search}`,
          headers,
          ...(init?.signal ? { signal: init.signal } : {}),
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => {
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(incoming.headers)) {
              if (typeof value === 'string') responseHeaders.set(name, value);
            }
            resolve(
              new Response(Buffer.concat(chunks), {
                status: incoming.statusCode ?? 502,
                headers: responseHeaders,
              }),
            );
          });
          incoming.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
  }

  return {
    caPem,
    requests,
    serve(url, document, headers = {}) {
      const parsed = new URL(url);
      if (!served.has(parsed.hostname))
        throw new Error(`${parsed.hostname} is not one of ${hostnames.join(', ')}`);
      documents.set(parsed.toString(), { body: JSON.stringify(document), headers });
    },
    install() {
      const realFetch = globalThis.fetch;
      globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        if (url.protocol === 'https:' && served.has(url.hostname)) return get(url, init);
        return realFetch(input, init);
      }) as typeof fetch;
      return () => {
        globalThis.fetch = realFetch;
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
