/**
 * Throwaway TLS material for tests, made with the `openssl` CLI (installed by
 * `make system-deps`): a CA, a server certificate for 127.0.0.1 and localhost signed by
 * it, and a client certificate signed by it (for `--tls-client-ca`). All PEM files.
 *
 * Usage: `const tls = makeTlsMaterial(mkdtempSync(join(tmpdir(), 'tls-')))`.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsMaterial {
  caCert: string;
  /** Same file as caCert (the name test/e2e/networks-tls.test.ts uses). */
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

/** Write the CA, server and client key pairs into `dir` and return their paths. */
export function makeTlsMaterial(dir: string, caName = 'mcp-reverse-proxy test CA'): TlsMaterial {
  const p = (name: string): string => join(dir, name);
  const m: TlsMaterial = {
    caCert: p('ca.crt'),
    ca: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
  };
  // EC P-256 keys: fast to generate, accepted everywhere.
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ecKey, '-keyout', m.caKey, '-out', m.caCert, '-days', '2', '-subj', `/CN=${caName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);

  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  openssl(dir, ['req', '-new', ...ecKey, '-keyout', m.serverKey, '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
  openssl(dir, ['x509', '-req', '-in', p('server.csr'), '-CA', m.caCert, '-CAkey', m.caKey, '-CAcreateserial', '-out', m.serverCert,
    '-days', '2', '-extfile', p('server.ext')]);

  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  openssl(dir, ['req', '-new', ...ecKey, '-keyout', m.clientKey, '-out', p('client.csr'), '-subj', '/CN=tunnel-client']);
  openssl(dir, ['x509', '-req', '-in', p('client.csr'), '-CA', m.caCert, '-CAkey', m.caKey, '-CAcreateserial', '-out', m.clientCert,
    '-days', '2', '-extfile', p('client.ext')]);
  return m;
}
