import { createHash, webcrypto } from 'node:crypto';
// @peculiar/x509 loads tsyringe, which needs the Reflect metadata API before it is imported.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const RSA_PKCS1 = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
} as const;

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface CertifiedKey {
  keys: webcrypto.CryptoKeyPair;
  certificate: x509.X509Certificate;
  /** Base64 DER, as in a JWKS `x5c`. */
  derBase64: string;
  pem: string;
  /** Base64url SHA-1 thumbprint (`x5t`). */
  x5t: string;
  /** Base64url SHA-256 thumbprint (`x5t#S256`). */
  x5tS256: string;
  privateKeyPem: string;
}

function thumbprint(der: ArrayBuffer, algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(Buffer.from(der)).digest('base64url');
}

async function describe(
  keys: webcrypto.CryptoKeyPair,
  certificate: x509.X509Certificate,
): Promise<CertifiedKey> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    keys,
    certificate,
    derBase64: Buffer.from(certificate.rawData).toString('base64'),
    pem: certificate.toString('pem'),
    x5t: thumbprint(certificate.rawData, 'sha1'),
    x5tS256: thumbprint(certificate.rawData, 'sha256'),
    privateKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Date.now() - 24 * 3600_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * 24 * 3600_000) };
}

/** An RSA key with a self-signed certificate, like each key in Entra's JWKS (`x5c`, `x5t`). */
export async function createSelfSignedRsa(commonName: string): Promise<CertifiedKey> {
  const keys = (await webcrypto.subtle.generateKey(RSA_PKCS1, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: RSA_PKCS1,
    ...validity(730),
  });
  return describe(keys, certificate);
}

/** A client certificate an app can register and sign `client_assertion`s with. */
export function createClientCertificate(commonName = 'Gatehouse development client'): Promise<CertifiedKey> {
  return createSelfSignedRsa(commonName);
}

export interface DevelopmentTls {
  caCertificatePem: string;
  certificatePem: string;
  privateKeyPem: string;
}

/**
 * A throwaway CA plus a server certificate for the loopback names, so HTTPS-only clients can be
 * pointed at the emulator by trusting one CA certificate (`NODE_EXTRA_CA_CERTS` or a custom agent).
 */
export async function createDevelopmentTls(): Promise<DevelopmentTls> {
  const caKeys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Gatehouse dev-entra development CA (not for production)',
    keys: caKeys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
    ...validity(30),
  });
  const leafKeys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    subject: 'CN=localhost',
    issuer: ca.subject,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
    ...validity(30),
  });
  const described = await describe(leafKeys, leaf);
  return {
    caCertificatePem: ca.toString('pem'),
    certificatePem: leaf.toString('pem'),
    privateKeyPem: described.privateKeyPem,
  };
}
