import { redactUrl } from '../../config/index.js';

const SECRET_KEY = /secret|password|passphrase|credential|private|hash|authorization|cookie|(token|key)$/i;
/** Maps whose names may be shown but whose values are secrets as often as not (upstream headers, env). */
const SECRET_VALUES = /^(headers|env)$/i;

/**
 * The effective configuration for the admin console: every value under a key that names a secret
 * is replaced, and URLs lose any user and password they carry.
 */
export function redactedConfig(value: unknown, key = ''): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (key === 'sources') return value;
  if (SECRET_KEY.test(key) && typeof value === 'string') return '[redacted]';
  if (SECRET_KEY.test(key) && typeof value === 'object' && !Array.isArray(value) && 'kind' in value) {
    // The Entra credential: which kind it is may be shown, its material not.
    return { kind: (value as { kind: unknown }).kind, material: '[redacted]' };
  }
  if (SECRET_VALUES.test(key) && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.keys(value as object).map((name) => [name, '[redacted]']));
  }
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? redactUrl(value) : value;
  if (value instanceof RegExp) return value.source;
  if (value instanceof Map) return redactedConfig(Object.fromEntries(value), key);
  if (value instanceof Set) return redactedConfig([...value], key);
  if (Array.isArray(value)) return value.map((item) => redactedConfig(item, key));
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([name, item]) => [
        name,
        redactedConfig(item, name),
      ]),
    );
  }
  if (typeof value === 'function') return '[function]';
  return value;
}
