/**
 * A real MIT Kerberos realm for one test file, in a temp dir: its own krb5.conf and
 * kdc.conf (found through KRB5_CONFIG / KRB5_KDC_PROFILE, so the machine's /etc/krb5.conf
 * is never touched), a database made with `kdb5_util create -s`, principals made with
 * `kadmin.local`, and `krb5kdc -n` in the foreground on a free loopback port, stopped by
 * PID. The proxy's service key goes into a keytab readable by user `proxy` (squid's
 * helpers run as that user); users get tickets with `kinit`, into a cache file of their own.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDaemon, type Daemon } from './daemon.js';

export const REALM = 'MCP.TEST';

export interface Realm {
  dir: string;
  /** KRB5_CONFIG for everything that talks to this realm. */
  krb5Config: string;
  /** Keytab with HTTP/<host> keys for the proxy (owned by user proxy). */
  proxyKeytab: string;
  /** `kinit` a user (password given on stdin) into a fresh cache file; returns KRB5CCNAME. */
  kinit(user: string): string;
  /** A cache file name with no ticket in it (for the "no ticket" case). */
  emptyCache(): string;
  /** The KDC's log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

const started = new Set<Daemon>();

/** Tools this helper needs (Debian: krb5-kdc, krb5-admin-server, krb5-user). */
export const KRB5_TOOLS = ['/usr/sbin/krb5kdc', '/usr/sbin/kdb5_util', '/usr/sbin/kadmin.local', '/usr/bin/kinit'];

/** Create the realm with `users` (name → password) and HTTP/<host> for each of `proxyHosts`. */
export async function startRealm(users: Record<string, string>, proxyHosts: string[] = ['localhost']): Promise<Realm> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-krb5-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const krb5Config = path.join(dir, 'krb5.conf');
  const kdcConf = path.join(dir, 'kdc.conf');
  writeFileSync(
    krb5Config,
    [
      '[libdefaults]',
      `  default_realm = ${REALM}`,
      '  dns_lookup_realm = false',
      '  dns_lookup_kdc = false',
      // The SPN is HTTP/<the host in the proxy URL>, as written: no DNS canonicalisation.
      '  rdns = false',
      '  dns_canonicalize_hostname = false',
      '  udp_preference_limit = 1',
      '[realms]',
      `  ${REALM} = {`,
      `    kdc = 127.0.0.1:${port}`,
      '  }',
      '[domain_realm]',
      ...proxyHosts.map((h) => `  ${h} = ${REALM}`),
      '',
    ].join('\n'),
  );
  writeFileSync(
    kdcConf,
    [
      '[kdcdefaults]',
      `  kdc_listen = 127.0.0.1:${port}`,
      `  kdc_tcp_listen = 127.0.0.1:${port}`,
      '[realms]',
      `  ${REALM} = {`,
      `    database_name = ${dir}/principal`,
      `    key_stash_file = ${dir}/stash`,
      `    acl_file = ${dir}/kadm5.acl`,
      '  }',
      '[logging]',
      `  kdc = FILE:${dir}/kdc.log`,
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'kadm5.acl'), '');
  const env = { ...process.env, KRB5_CONFIG: krb5Config, KRB5_KDC_PROFILE: kdcConf };
  const run = (bin: string, args: string[], input?: string, extra: NodeJS.ProcessEnv = {}): string =>
    execFileSync(bin, args, { env: { ...env, ...extra }, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
  run('/usr/sbin/kdb5_util', ['create', '-s', '-r', REALM, '-P', 'master-key-for-tests']);
  const kadmin = (q: string): string => run('/usr/sbin/kadmin.local', ['-r', REALM, '-q', q]);
  for (const [user, password] of Object.entries(users)) kadmin(`addprinc -pw ${password} ${user}`);
  const proxyKeytab = path.join(dir, 'proxy.keytab');
  for (const host of proxyHosts) {
    kadmin(`addprinc -randkey HTTP/${host}`);
    kadmin(`ktadd -k ${proxyKeytab} HTTP/${host}`);
  }
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'proxy'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'proxy'], { encoding: 'utf8' }).trim());
    chownSync(proxyKeytab, uid, gid);
  }
  chmodSync(krb5Config, 0o644);
  writeFileSync(path.join(dir, 'access.log'), '');

  const kdc = await startDaemon(
    {
      name: 'krb5kdc',
      bin: '/usr/sbin/krb5kdc',
      args: ['-n', '-r', REALM, '-P', path.join(dir, 'kdc.pid')],
      port,
      dir,
      env: { KRB5_CONFIG: krb5Config, KRB5_KDC_PROFILE: kdcConf },
      diagnostics: () => readLog(dir),
    },
    started,
  );
  let caches = 0;
  return {
    dir,
    krb5Config,
    proxyKeytab,
    kinit(user) {
      const cache = `FILE:${path.join(dir, `cc-${user}-${++caches}`)}`;
      run('/usr/bin/kinit', [user], `${users[user]}\n`, { KRB5CCNAME: cache });
      return cache;
    },
    emptyCache: () => `FILE:${path.join(dir, `cc-empty-${++caches}`)}`,
    log: () => readLog(dir),
    stop: () => kdc.stop(),
  };
}

function readLog(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'kdc.log'), 'utf8').slice(-2000);
  } catch {
    return '';
  }
}
