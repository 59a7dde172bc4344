/**
 * Windows: the user's Internet Settings (what "Proxy settings" and Group Policy write, and
 * what WinINet, Edge and Chrome read), from
 *   reg.exe query "HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings"
 * whose output is the key's path, then one line per value, four spaces apart:
 *       ProxyEnable    REG_DWORD    0x1
 *       ProxyServer    REG_SZ    http=proxy.corp:8080;https=proxy.corp:8443
 * then the subkeys' paths. Values used:
 * - AutoConfigURL: a PAC URL ("Use setup script"); it wins over the manual proxy, as in WinINet.
 * - ProxyEnable (DWORD) + ProxyServer: `host:port` for every scheme, or a per-scheme list
 *   `http=a:80;https=b:443;ftp=…;socks=…`; a scheme not in the list goes direct.
 * - ProxyOverride: the bypass list, `;`-separated, `*` wildcards, `<local>` = names without a dot.
 * Auto-detection (WPAD, stored in a binary blob under Connections) is not read.
 */
import { emptySettings, type SystemProxySettings } from './settings.js';

export const INTERNET_SETTINGS_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings';

export interface RegValue {
  type: string;
  data: string;
}

/** The values of the first key in `reg.exe query` output, by name (names compared as written). */
export function parseRegQuery(text: string): Map<string, RegValue> {
  const values = new Map<string, RegValue>();
  let keysSeen = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, '');
    if (/^HKEY_/i.test(line)) {
      // Values belong to the first key; the following ones are its subkeys.
      if (++keysSeen > 1) break;
      continue;
    }
    // Value names may contain single spaces ("User Agent"); fields are four spaces apart.
    const m = /^ {4}(.+?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(line);
    if (m) values.set(m[1]!, { type: m[2]!, data: m[3] ?? '' });
  }
  return values;
}

function dword(v: RegValue | undefined): number | undefined {
  if (!v || v.type !== 'REG_DWORD') return undefined;
  const n = Number.parseInt(v.data, 16);
  return Number.isFinite(n) ? n : undefined;
}

function text(v: RegValue | undefined): string | undefined {
  const t = v && (v.type === 'REG_SZ' || v.type === 'REG_EXPAND_SZ') ? v.data.trim() : '';
  return t === '' ? undefined : t;
}

/** `a:1` → every scheme; `http=a:1;https=b:2;socks=c:3` → per scheme (lower-case keys). */
export function parseProxyServer(value: string): { all?: string; schemes: Map<string, string> } {
  const schemes = new Map<string, string>();
  let all: string | undefined;
  for (const part of value.split(';')) {
    const entry = part.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq < 0) all ??= entry;
    else {
      const scheme = entry.slice(0, eq).trim().toLowerCase();
      const proxy = entry.slice(eq + 1).trim();
      if (scheme && proxy && !schemes.has(scheme)) schemes.set(scheme, proxy);
    }
  }
  return { ...(all !== undefined ? { all } : {}), schemes };
}

/** ProxyOverride's entries (`;`-separated; spaces are not part of an entry). */
export function parseProxyOverride(value: string): string[] {
  return value
    .split(/[;\s]+/)
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

export function windowsProxySettings(values: Map<string, RegValue>): SystemProxySettings {
  const settings = emptySettings('Windows Internet Settings');
  const pac = text(values.get('AutoConfigURL'));
  if (pac) settings.pac = pac;
  const server = text(values.get('ProxyServer'));
  if (dword(values.get('ProxyEnable')) === 1 && server) {
    const { all, schemes } = parseProxyServer(server);
    // A plain `host:port` is for every scheme; a list names each (the rest go direct).
    const http = schemes.get('http') ?? (schemes.size === 0 ? all : undefined);
    const https = schemes.get('https') ?? (schemes.size === 0 ? all : undefined);
    if (http) settings.http = http;
    if (https) settings.https = https;
    if (schemes.has('socks') && !http && !https) settings.unsupported.push(`SOCKS proxy (socks=${schemes.get('socks')})`);
    const override = text(values.get('ProxyOverride'));
    if (override) settings.bypass = parseProxyOverride(override);
  }
  return settings;
}
