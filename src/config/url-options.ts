/**
 * URL-valued options. The gateway URL must not carry credentials: tokens travel only in
 * the Authorization header (PROTOCOL.md), and a URL is logged, shown in `ps` and kept in
 * shell history. The proxy URL may carry them (that is how proxies take credentials);
 * messages about either never show userinfo, a query string or a fragment.
 */
import type { OptionSpec, Picked } from './option-sources.js';
import { invalid } from './option-sources.js';
import { ConfigError } from '../errors.js';

const GATEWAY_SCHEMES = ['http:', 'https:', 'ws:', 'wss:'];
const PROXY_SCHEMES = ['http:', 'https:'];

export function readGatewayUrl(spec: OptionSpec, picked: Picked | undefined): string | undefined {
  if (!picked) return undefined;
  const url = parseUrl(spec, picked, 'an http(s):// or ws(s):// URL of the gateway');
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      `invalid ${spec.flag} (from ${picked.source}): the URL must not contain credentials (user:password@); ` +
        'pass the token with --token or REVERSE_PROXY_TOKEN',
    );
  }
  if (!GATEWAY_SCHEMES.includes(url.protocol)) {
    throw safeInvalid(spec, picked, url, 'expected an http://, https://, ws:// or wss:// URL');
  }
  return (picked.value as string).trim();
}

export function readProxyUrl(spec: OptionSpec, picked: Picked | undefined): string | undefined {
  if (!picked) return undefined;
  const url = parseUrl(spec, picked, 'a proxy URL like http://proxy.example:3128');
  if (!PROXY_SCHEMES.includes(url.protocol) || url.hostname === '') {
    throw safeInvalid(spec, picked, url, 'expected an http:// or https:// proxy URL like http://proxy.example:3128');
  }
  return (picked.value as string).trim();
}

/**
 * Only `scheme://…` parses: without `//`, `user:pass@host:3128` would read as scheme
 * `user:` with the password in the path. What does not parse is not echoed, since we
 * cannot tell which part of it is a secret.
 */
function parseUrl(spec: OptionSpec, picked: Picked, expected: string): URL {
  const text = typeof picked.value === 'string' ? picked.value.trim() : '';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    try {
      return new URL(text);
    } catch {
      // reported below
    }
  }
  throw new ConfigError(`invalid ${spec.flag} (from ${picked.source}): not a valid URL; expected ${expected}`);
}

/** Echo scheme, host and path only. */
function safeInvalid(spec: OptionSpec, picked: Picked, url: URL, expected: string): ConfigError {
  const safe = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  return invalid({ ...spec, secret: false }, { ...picked, value: safe }, expected);
}
