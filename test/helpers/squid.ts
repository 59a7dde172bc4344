/**
 * A real squid on a loopback port, configured for one corporate-proxy behaviour at a time
 * (docs/corporate-networks.md, "How these behaviours are tested"; measured behaviours in
 * NETWORK-FACTS.md). Started in the foreground (`-N`), stopped by PID: SIGTERM, then
 * SIGKILL. Its access log is a plain file the tests read.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDaemon, stopAll, type Daemon } from './daemon.js';

export interface SquidScenario {
  /** CONNECT tunnels allowed (default true). Denied = `http_access deny CONNECT`. */
  connect?: boolean;
  /** Refuse requests carrying `Upgrade: websocket` (a forwarded WebSocket handshake). */
  denyUpgrade?: boolean;
  /** Require proxy basic auth (basic_ncsa_auth with an htpasswd file). */
  auth?: { user: string; password: string };
  /** `read_timeout`: squid closes connections idle for this long (an idle killer). */
  readTimeoutSeconds?: number;
  /** NTLM only (`ntlm_fake_auth`: the real type 1/2/3 handshake, any password accepted). */
  ntlm?: boolean;
  /** Negotiate only: `negotiate_kerberos_auth` with this keytab (must be readable by user proxy). */
  negotiate?: { keytab: string; krb5Config: string };
  /** More squid.conf lines before the access rules. */
  extra?: string[];
  /**
   * TLS inspection: `ssl_bump` every CONNECT, re-signing with this CA (cert + key, PEM),
   * trusting upstream certificates signed by `upstreamCa`. `websocket: true` lets squid
   * forward WebSocket upgrades inside the bumped TLS (squid strips them by default).
   */
  bump?: { caCert: string; caKey: string; upstreamCa: string; websocket?: boolean };
}

export type Squid = Daemon;

const SQUID = '/usr/sbin/squid';
const NCSA_AUTH = '/usr/lib/squid/basic_ncsa_auth';
const NTLM_FAKE_AUTH = '/usr/lib/squid/ntlm_fake_auth';
const NEGOTIATE_AUTH = '/usr/lib/squid/negotiate_kerberos_auth';
const started = new Set<Daemon>();

const CERTGEN = '/usr/lib/squid/security_file_certgen';

function bumpLines(dir: string, b: NonNullable<SquidScenario['bump']>): string[] {
  return [
    `sslcrtd_program ${CERTGEN} -s ${dir}/ssl_db -M 4MB`,
    'sslcrtd_children 2 startup=1 idle=1',
    'acl step1 at_step SslBump1',
    'ssl_bump peek step1',
    'ssl_bump bump all',
    `tls_outgoing_options cafile=${b.upstreamCa}`,
    ...(b.websocket ? ['http_upgrade_request_protocols websocket allow all'] : []),
  ];
}

function squidConf(dir: string, port: number, s: SquidScenario): string {
  const lines = [
    s.bump
      ? `http_port 127.0.0.1:${port} ssl-bump tls-cert=${s.bump.caCert} tls-key=${s.bump.caKey} generate-host-certificates=on dynamic_cert_mem_cache_size=4MB`
      : `http_port 127.0.0.1:${port}`,
    `pid_filename ${dir}/squid.pid`,
    `cache_log ${dir}/cache.log`,
    `access_log stdio:${dir}/access.log`,
    'logfile_rotate 0',
    'cache deny all',
    'pinger_enable off',
    // Active connections are cut at once on SIGTERM: a restart is a policy change mid-session.
    'shutdown_lifetime 0 seconds',
    // Without these, squid's DNS socket binds 0.0.0.0; we only ever talk to 127.0.0.1.
    'dns_nameservers 127.0.0.1',
    'udp_incoming_address 127.0.0.1',
    'udp_outgoing_address 127.0.0.1',
    'visible_hostname squid.test',
    `coredump_dir ${dir}`,
    'netdb_filename none',
  ];
  if (s.readTimeoutSeconds !== undefined) lines.push(`read_timeout ${s.readTimeoutSeconds} seconds`);
  if (s.extra) lines.push(...s.extra);
  if (s.bump) lines.push(...bumpLines(dir, s.bump));
  if (s.ntlm) {
    lines.push(
      `auth_param ntlm program ${NTLM_FAKE_AUTH}`,
      'auth_param ntlm children 2 startup=1 idle=1',
      'auth_param ntlm keep_alive on',
    );
  }
  if (s.negotiate) {
    // -s GSS_C_NO_NAME: any key in the keytab (HTTP/localhost and HTTP/127.0.0.1).
    lines.push(
      `auth_param negotiate program ${NEGOTIATE_AUTH} -k ${s.negotiate.keytab} -s GSS_C_NO_NAME`,
      'auth_param negotiate children 2 startup=1 idle=1',
      'auth_param negotiate keep_alive on',
    );
  }
  if (s.ntlm || s.negotiate) lines.push('acl authed proxy_auth REQUIRED', 'http_access deny !authed');
  if (s.auth) {
    lines.push(
      `auth_param basic program ${NCSA_AUTH} ${dir}/htpasswd`,
      'auth_param basic children 2 startup=1 idle=1',
      'auth_param basic realm mcp-test',
      'acl authed proxy_auth REQUIRED',
      'http_access deny !authed',
    );
  }
  if (s.connect === false) lines.push('http_access deny CONNECT');
  if (s.denyUpgrade) lines.push('acl ws req_header Upgrade -i websocket', 'http_access deny ws');
  lines.push('http_access allow all');
  return lines.join('\n') + '\n';
}

/** An htpasswd entry without apache2-utils: `openssl passwd -apr1` is the same format. */
function htpasswdLine(user: string, password: string): string {
  const hash = execFileSync('openssl', ['passwd', '-apr1', '-stdin'], { input: password + '\n', encoding: 'utf8' }).trim();
  return `${user}:${hash}\n`;
}

/** Start squid for `scenario`; `port` reuses a port (a restart on the same address). */
export async function startSquid(scenario: SquidScenario = {}, port?: number): Promise<Squid> {
  const p = port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcp-squid-'));
  writeFileSync(path.join(dir, 'squid.conf'), squidConf(dir, p, scenario));
  if (scenario.auth) {
    if (!existsSync(NCSA_AUTH)) throw new Error(`${NCSA_AUTH} not found: install squid (make system-deps)`);
    writeFileSync(path.join(dir, 'htpasswd'), htpasswdLine(scenario.auth.user, scenario.auth.password));
  }
  writeFileSync(path.join(dir, 'access.log'), '');
  // The certificate database squid's certgen helper keeps (created empty, owned by proxy below).
  if (scenario.bump) execFileSync(CERTGEN, ['-c', '-s', path.join(dir, 'ssl_db'), '-M', '4MB'], { stdio: 'ignore' });
  // squid drops to user `proxy` when started as root: its work dir and logs must be its own.
  chmodSync(dir, 0o755);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'proxy'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'proxy'], { encoding: 'utf8' }).trim());
    for (const f of ['', 'access.log', ...(scenario.auth ? ['htpasswd'] : [])]) chownSync(path.join(dir, f), uid, gid);
    if (scenario.bump) execFileSync('chown', ['-R', `${uid}:${gid}`, path.join(dir, 'ssl_db')]);
  }

  const readCacheLog = (): string => {
    try {
      return readFileSync(path.join(dir, 'cache.log'), 'utf8').slice(-2000);
    } catch {
      return '';
    }
  };
  return startDaemon(
    {
      name: 'squid',
      bin: SQUID,
      args: ['-N', '-n', `mcpsquid${p}`, '-f', path.join(dir, 'squid.conf')],
      port: p,
      dir,
      diagnostics: readCacheLog,
      // The Kerberos helper finds the test realm through KRB5_CONFIG; no replay cache on disk.
      ...(scenario.negotiate ? { env: { KRB5_CONFIG: scenario.negotiate.krb5Config, KRB5RCACHETYPE: 'none' } } : {}),
    },
    started,
  );
}

/** Restart on the same port with another scenario: the old squid's connections are cut. */
export async function restartSquid(old: Squid, scenario: SquidScenario): Promise<Squid> {
  await old.stop();
  let lastError: unknown;
  // The port can stay busy for a moment after squid exits; retry, bounded.
  for (let i = 0; i < 20; i++) {
    try {
      return await startSquid(scenario, old.port);
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`could not restart squid on port ${old.port}: ${String(lastError)}`);
}

/** Stop every squid started by this process (afterEach). */
export function stopAllSquids(): Promise<void> {
  return stopAll(started);
}
