/**
 * URL-valued options. The gateway URL must not carry credentials: tokens travel only in
 * the Authorization header (PROTOCOL.md), and a URL is logged, shown in `ps` and kept in
 * shell history. The proxy URL may carry them (that is how proxies take credentials);
 * messages about either never show userinfo, a query string or a fragment.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ConfigFile } from './config-file.js';
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
  const url = parseUrl(spec, picked, 'a proxy URL like http://proxy.example:3128, or system');
  if (!PROXY_SCHEMES.includes(url.protocol) || url.hostname === '') {
    throw safeInvalid(spec, picked, url, 'expected an http:// or https:// proxy URL like http://proxy.example:3128, or system');
  }
  return (picked.value as string).trim();
}

/** `--proxy`: a proxy URL, or `system` (the OS settings: src/net/proxy-source.ts). */
export function readProxySetting(spec: OptionSpec, picked: Picked | undefined): string | undefined {
  if (picked && typeof picked.value === 'string' && picked.value.trim().toLowerCase() === 'system') return 'system';
  return readProxyUrl(spec, picked);
}

/**
 * A PAC file: an http(s):// URL (no credentials: it is fetched without any), a file://
 * URL or a path (relative to the config file when it comes from one).
 */
export function readPacLocation(spec: OptionSpec, picked: Picked | undefined, file: ConfigFile | undefined): string | undefined {
  if (!picked) return undefined;
  const text = typeof picked.value === 'string' ? picked.value.trim() : '';
  if (text === '') throw invalid(spec, picked, 'expected an http(s):// URL or a path of a PAC file');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const url = parseUrl(spec, picked, 'an http(s):// URL or a path of a PAC file');
    if (!['http:', 'https:', 'file:'].includes(url.protocol)) throw safeInvalid(spec, picked, url, 'expected an http://, https:// or file:// URL, or a path');
    if (url.username !== '' || url.password !== '') throw safeInvalid(spec, picked, url, 'the PAC URL must not contain credentials');
    return text;
  }
  return picked.origin === 'file' && file && !isAbsolute(text) ? resolve(dirname(file.path), text) : text;
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
