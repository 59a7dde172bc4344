/**
 * TLS to the gateway inside a CONNECT tunnel, with an error that names who signed the
 * certificate. Behind a TLS-inspecting proxy (squid `ssl_bump`, Zscaler, Blue Coat...)
 * the certificate the client sees is re-signed by a corporate CA; "not signed by a CA we
 * trust" alone does not tell the user which CA to ask for. Node's verification error
 * carries no certificate, so the handshake runs with `rejectUnauthorized: false` and the
 * verdict (chain *and* host name, both computed by Node as usual: `authorized`,
 * `authorizationError`) is enforced here before a single byte is written: an unverified
 * connection is destroyed, never used. Verification is not optional.
 */
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { TlsError } from '../errors.js';

const WHY: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'a CA we do not trust',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'a CA we do not trust',
  UNABLE_TO_GET_ISSUER_CERT: 'a CA we do not trust',
  SELF_SIGNED_CERT_IN_CHAIN: 'a chain that ends in a CA we do not trust',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'itself (self-signed)',
};

function issuerName(cert: tls.PeerCertificate): string {
  const i = cert.issuer as unknown as Record<string, string | string[] | undefined> | undefined;
  const pick = (k: string): string | undefined => {
    const v = i?.[k];
    return Array.isArray(v) ? v[0] : v;
  };
  const cn = pick('CN');
  const o = pick('O');
  return [cn ? `"${cn}"` : undefined, o && o !== cn ? `(O=${o})` : undefined].filter(Boolean).join(' ') || 'an unnamed issuer';
}

/** Why the certificate was refused, naming its issuer; what to do about it. */
export function untrustedCertificate(host: string, code: string, cert: tls.PeerCertificate | undefined, proxy: string | undefined): TlsError {
  const issuer = cert && Object.keys(cert).length > 0 ? issuerName(cert) : 'an unknown issuer';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new TlsError(`TLS certificate problem with ${host}: its certificate (issued by ${issuer}) does not name this host (${code}); use the host name the certificate was issued for`);
  }
  const why = WHY[code];
  const inspecting = proxy
    ? ` If the proxy ${proxy} inspects TLS (re-signs traffic with a corporate CA), that CA is ${issuer}: ask for its certificate and`
    : ' If the gateway or a TLS-inspecting proxy uses a private CA,';
  const what = why ? `is signed by ${issuer}, ${why}` : `was refused (issuer ${issuer})`;
  return new TlsError(
    `TLS certificate problem with ${host}: its certificate ${what} (${code}).${inspecting} pass it with --ca-file <ca.pem> (or NODE_EXTRA_CA_CERTS); verification is never turned off`,
  );
}

/** TLS over `socket` to `hostname`; rejects with a TlsError that names the issuer when the certificate is not trusted. */
export function secureTunnel(socket: Socket, hostname: string, port: string, tlsOptions: tls.ConnectionOptions, servername: string | undefined, proxy: string | undefined): Promise<tls.TLSSocket> {
  const host = hostname.replace(/^\[|\]$/g, '');
  const name = servername || (isIP(host) ? undefined : host);
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      ...tlsOptions,
      socket,
      host,
      ...(name ? { servername: name } : {}),
      ALPNProtocols: ['http/1.1'],
      // Enforced below, with the certificate at hand (see the file comment).
      rejectUnauthorized: false,
    });
    const onError = (err: Error): void => {
      s.destroy();
      reject(err);
    };
    s.once('error', onError);
    s.once('secureConnect', () => {
      s.removeListener('error', onError);
      if (s.authorized) {
        resolve(s);
        return;
      }
      const code = String(s.authorizationError ?? 'CERT_UNTRUSTED');
      const cert = s.getPeerCertificate();
      s.destroy();
      reject(untrustedCertificate(`${hostname}:${port}`, code, cert, proxy));
    });
  });
}
