/**
 * Negotiate (SPNEGO/Kerberos) proxy authentication with the user's own ticket: no
 * password anywhere. GSSAPI comes from the `kerberos` module (MongoDB's, native, an
 * optional dependency built from source against libkrb5): the ticket cache is wherever
 * libkrb5 looks (KRB5CCNAME, else the default cache), the service is `HTTP@<proxy host>`
 * (the SPN `HTTP/<proxy host>`, as browsers and curl use). When the module is missing,
 * the error says what to install.
 */
import { createRequire } from 'node:module';
import type { AuthSession } from './session.js';

interface KerberosClient {
  step(challenge: string): Promise<string>;
  contextComplete: boolean;
}
interface KerberosModule {
  initializeClient(service: string, options?: { mechOID?: unknown }): Promise<KerberosClient>;
  GSS_MECH_OID_SPNEGO: unknown;
}

export const KERBEROS_INSTALL_HINT =
  'install the Kerberos development files and a C/C++ toolchain (Debian/Ubuntu: apt-get install libkrb5-dev build-essential; ' +
  'Fedora/RHEL: dnf install krb5-devel gcc-c++ make), then run "npm rebuild kerberos" where mcp-reverse-proxy is installed';

let loaded: { module?: KerberosModule; error?: string } | undefined;

/** The `kerberos` module, or why it cannot be used (loaded once). */
export function loadKerberos(): { module?: KerberosModule; error?: string } {
  if (!loaded) {
    try {
      loaded = { module: createRequire(import.meta.url)('kerberos') as KerberosModule };
    } catch (err) {
      const e = err as Error & { code?: string };
      loaded = { error: e.code === 'MODULE_NOT_FOUND' ? 'is not installed' : `cannot be loaded: ${e.message.split('\n')[0]!.slice(0, 200)}` };
    }
  }
  return loaded;
}

/** Thrown when this machine cannot produce a Negotiate token (no module, no ticket). */
export class NegotiateUnavailable extends Error {
  constructor(
    message: string,
    readonly reason: 'module' | 'ticket',
  ) {
    super(message);
  }
}

export function negotiateSession(proxyHost: string, kerberos: () => { module?: KerberosModule; error?: string } = loadKerberos): AuthSession {
  const service = `HTTP@${proxyHost}`;
  let client: KerberosClient | undefined;
  return {
    scheme: 'Negotiate',
    principal: `service ${service}`,
    async initial() {
      const k = kerberos();
      if (!k.module) throw new NegotiateUnavailable(`the optional "kerberos" module ${k.error ?? 'is missing'}`, 'module');
      try {
        client = await k.module.initializeClient(service, { mechOID: k.module.GSS_MECH_OID_SPNEGO });
        return `Negotiate ${await client.step('')}`;
      } catch (err) {
        // GSSAPI's own words ("No Kerberos credentials available (default cache: …)").
        throw new NegotiateUnavailable(`no Kerberos ticket is usable for ${service} (GSSAPI: ${(err as Error).message.slice(0, 300)})`, 'ticket');
      }
    },
    async respond(param) {
      // A 407 with a bare `Negotiate` after our token is a rejection; one with a token is
      // a multi-leg exchange (SPNEGO) that goes on.
      if (!client || param === '' || client.contextComplete) return undefined;
      const token = await client.step(param);
      return token === '' ? undefined : `Negotiate ${token}`;
    },
  };
}
