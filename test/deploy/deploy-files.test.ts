/**
 * deploy/ cannot be run here (no Docker engine, no cluster), so that it cannot rot, every
 * mcp-reverse-proxy command line in it — Dockerfile ENTRYPOINT + CMD, compose `command:`,
 * Kubernetes `args:` — goes through the real CLI (dist/cli/main.js … --check-config) with
 * the environment those files set, secrets replaced by placeholders.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseShell } from 'shell-quote';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { BIN, REPO } from '../helpers/system.js';

const DEPLOY = join(REPO, 'deploy');
const SECRET_PLACEHOLDER = 'placeholder-secret-0123456789abcdef0123456789abcdef';
const TOKEN_PLACEHOLDER = 'placeholder.token.value';
const run = promisify(execFile);

interface CommandLine {
  where: string;
  args: string[];
  env: Record<string, string>;
}

/** Run the real CLI with --check-config in an empty directory and a clean environment. */
async function checkConfig(line: CommandLine): Promise<Record<string, any>> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...line.env };
  const cwd = mkdtempSync(join(tmpdir(), 'mrp-deploy-'));
  try {
    const { stdout } = await run(process.execPath, [BIN, ...line.args, '--check-config'], { env, cwd });
    assert.ok(!stdout.includes(SECRET_PLACEHOLDER) && !stdout.includes(TOKEN_PLACEHOLDER), `${line.where}: secrets are masked`);
    return JSON.parse(stdout) as Record<string, any>;
  } catch (err) {
    const e = err as { stderr?: string; code?: number };
    assert.fail(`${line.where}: mcp-reverse-proxy ${line.args.join(' ')} does not parse (exit ${e.code}): ${e.stderr ?? String(err)}`);
  }
}

/** `${VAR}`, `${VAR:?message}`, `${VAR:-default}` as compose interpolates them, with placeholders for secrets. */
function interpolate(text: string): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::?[-?]([^}]*))?\}/g, (_m, name: string, rest: string | undefined) => {
    if (name === 'JWT_SECRET_KEY') return SECRET_PLACEHOLDER;
    if (name.endsWith('TOKEN')) return TOKEN_PLACEHOLDER;
    return rest ?? '';
  });
}

// ---- Dockerfile ----
function dockerfile(): { instructions: Array<[string, string]>; text: string } {
  const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  const joined = text.replace(/\\\n/g, ' ');
  const instructions = joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [, op, rest] = /^(\S+)\s+(.*)$/.exec(l)!;
      return [op!.toUpperCase(), rest!] as [string, string];
    });
  return { instructions, text };
}

function dockerfileCommand(): CommandLine {
  const { instructions } = dockerfile();
  const last = (op: string) => instructions.filter(([o]) => o === op).at(-1)?.[1];
  const entrypoint = JSON.parse(last('ENTRYPOINT')!) as string[];
  const cmd = JSON.parse(last('CMD') ?? '[]') as string[];
  assert.equal(entrypoint[0], 'mcp-reverse-proxy', 'ENTRYPOINT is the binary (exec form)');
  const env: Record<string, string> = {};
  const lastStage = instructions.slice(instructions.map(([o]) => o).lastIndexOf('FROM'));
  for (const [op, rest] of lastStage) if (op === 'ENV') for (const [, k, v] of rest.matchAll(/(\w+)=(\S+)/g)) env[k!] = v!;
  // The image's documented `docker run -e JWT_SECRET_KEY=…`.
  return { where: 'Dockerfile ENTRYPOINT + CMD', args: [...entrypoint.slice(1), ...cmd], env: { ...env, JWT_SECRET_KEY: SECRET_PLACEHOLDER } };
}

// ---- docker-compose.yml ----
function composeCommands(file = 'docker-compose.yml'): CommandLine[] {
  const doc = parseYaml(readFileSync(join(DEPLOY, file), 'utf8')) as { services: Record<string, any> };
  const lines: CommandLine[] = [];
  for (const [name, svc] of Object.entries(doc.services)) {
    if (!String(svc.image ?? '').startsWith('mcp-reverse-proxy')) continue;
    const raw = svc.command;
    const args = (Array.isArray(raw) ? raw.map(String) : (parseShell(String(raw)) as string[])).map(interpolate);
    const env: Record<string, string> = {};
    const environment = svc.environment ?? {};
    for (const [k, v] of Array.isArray(environment) ? environment.map((e: string) => e.split(/=(.*)/s)) : Object.entries(environment)) {
      env[k as string] = interpolate(String(v));
    }
    // Map bind mounts back to the repository, so --config finds the real file.
    for (const vol of (svc.volumes ?? []) as string[]) {
      const [host, container] = vol.split(':');
      if (!host!.startsWith('.')) continue;
      for (let i = 0; i < args.length; i++) if (args[i]!.startsWith(container!)) args[i] = resolve(DEPLOY, host!) + args[i]!.slice(container!.length);
    }
    lines.push({ where: `${file} service ${name}`, args, env });
  }
  return lines;
}

// ---- kubernetes.yaml ----
function kubernetesDocs(): any[] {
  return parseAllDocuments(readFileSync(join(DEPLOY, 'kubernetes.yaml'), 'utf8')).map((d) => d.toJS());
}

function kubernetesCommands(): CommandLine[] {
  const lines: CommandLine[] = [];
  for (const doc of kubernetesDocs()) {
    if (doc?.kind !== 'Deployment') continue;
    for (const c of doc.spec.template.spec.containers as any[]) {
      if (!String(c.image).startsWith('mcp-reverse-proxy')) continue;
      const command = (c.command ?? []) as string[];
      // `command:` replaces the ENTRYPOINT; when given it must still be the binary.
      if (command.length > 0) assert.equal(command[0], 'mcp-reverse-proxy');
      const env: Record<string, string> = {};
      for (const e of (c.env ?? []) as any[]) {
        if (e.value !== undefined) env[e.name] = String(e.value);
        else if (e.valueFrom?.secretKeyRef) env[e.name] = e.name === 'JWT_SECRET_KEY' ? SECRET_PLACEHOLDER : TOKEN_PLACEHOLDER;
      }
      lines.push({ where: `kubernetes.yaml Deployment ${doc.metadata.name}`, args: [...command.slice(1), ...((c.args ?? []) as unknown[]).map(String)], env });
    }
  }
  return lines;
}

describe('deploy/Dockerfile', () => {
  it('is multi-stage, on a Node LTS base, installs production deps only and runs as a non-root user', () => {
    const { instructions } = dockerfile();
    const froms = instructions.filter(([o]) => o === 'FROM');
    assert.ok(froms.length >= 2, 'multi-stage');
    const base = /^ARG NODE_IMAGE=(\S+)/m.exec(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'))?.[1] ?? froms.at(-1)![1];
    assert.match(base, /^node:(20|22|24)[-.\w]*$/, 'Node LTS base');
    const runtime = instructions.slice(instructions.indexOf(froms.at(-1)!));
    assert.ok(runtime.some(([o, r]) => o === 'RUN' && /npm ci\b.*--omit=dev/.test(r)), 'npm ci --omit=dev in the runtime stage');
    const user = runtime.filter(([o]) => o === 'USER').at(-1)?.[1];
    assert.ok(user !== undefined && user !== 'root' && user !== '0', 'USER is not root');
  });

  it('ENTRYPOINT + CMD parse: the gateway on 0.0.0.0:4444', async () => {
    const out = await checkConfig(dockerfileCommand());
    assert.equal(out.command, 'gateway');
    assert.equal(out.options.host, '0.0.0.0');
    assert.equal(out.options.port, 4444);
    assert.equal(out.options.jwtSecret, '***');
  });
});

describe('deploy/docker-compose.yml', () => {
  it('every mcp-reverse-proxy service command parses with its environment', async () => {
    const lines = composeCommands();
    assert.deepEqual(lines.map((l) => l.where.split(' ').at(-1)), ['gateway', 'everything', 'servers']);
    const [gateway, everything, servers] = await Promise.all(lines.map(checkConfig));
    assert.equal(gateway!.options.host, '0.0.0.0');
    assert.equal(everything!.servers[0].gateway, 'http://gateway:4444');
    assert.equal(everything!.servers[0].token, '***');
    assert.equal(everything!.servers[0].restart, 'on-failure');
    assert.deepEqual(servers!.servers.map((s: { name: string }) => s.name), ['everything', 'files']);
    assert.ok(servers!.servers.every((s: { gateway: string; token: string }) => s.gateway === 'http://gateway:4444' && s.token === '***'));
    assert.deepEqual(servers!.warnings, []);
  });

  it('secrets come from the environment, never from the file', () => {
    const text = readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8');
    assert.match(text, /JWT_SECRET_KEY: \$\{JWT_SECRET_KEY:\?/);
    assert.match(text, /REVERSE_PROXY_TOKEN: \$\{REVERSE_PROXY_TOKEN:\?/);
  });
});

describe('deploy/kubernetes.yaml', () => {
  it('has a gateway Deployment + Service and a client Deployment whose token comes from a Secret', () => {
    const docs = kubernetesDocs();
    const svc = docs.find((d) => d.kind === 'Service');
    const gw = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === svc.metadata.name);
    assert.ok(gw, 'the Service selects the gateway Deployment by name');
    assert.deepEqual(gw.spec.template.metadata.labels, svc.spec.selector);
    const client = docs.find((d) => d.kind === 'Deployment' && d !== gw);
    const tokenEnv = client.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'REVERSE_PROXY_TOKEN');
    assert.ok(tokenEnv.valueFrom.secretKeyRef, 'REVERSE_PROXY_TOKEN from a Secret');
    for (const d of [gw, client]) assert.equal(d.spec.template.spec.securityContext.runAsNonRoot, true);
  });

  it('every container command line parses with its env', async () => {
    const lines = kubernetesCommands();
    assert.equal(lines.length, 2);
    const [gateway, client] = await Promise.all(lines.map(checkConfig));
    assert.equal(gateway!.options.host, '0.0.0.0');
    // Scale-out: two replicas on the Redis Service, behind a Service without affinity.
    const docs = kubernetesDocs();
    const gw = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'mcp-gateway');
    assert.equal(gw.spec.replicas, 2);
    const redisSvc = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'mcp-redis');
    assert.equal(gateway!.options.redis, `redis://${redisSvc.metadata.name}:${redisSvc.spec.ports[0].port}/0`);
    assert.ok(docs.some((d) => d.kind === 'Deployment' && d.metadata.name === 'mcp-redis'));
    assert.notEqual(docs.find((d) => d.kind === 'Service' && d.metadata.name === 'mcp-gateway').spec.sessionAffinity, 'ClientIP');
    const svc = kubernetesDocs().find((d) => d.kind === 'Service');
    assert.equal(gateway!.options.port, svc.spec.ports[0].port);
    assert.equal(client!.servers[0].gateway, `http://${svc.metadata.name}:${svc.spec.ports[0].port}`);
    assert.equal(client!.servers[0].metricsPort, 9464);
    assert.equal(client!.servers[0].token, '***');
  });
});

describe('deploy/docker-compose.scale-out.yml', () => {
  it('two gateway replicas on one Redis, behind nginx round-robin without stickiness; the client goes through the balancer', async () => {
    const file = 'docker-compose.scale-out.yml';
    const doc = parseYaml(readFileSync(join(DEPLOY, file), 'utf8')) as { services: Record<string, any> };
    const lines = composeCommands(file);
    assert.deepEqual(lines.map((l) => l.where.split(' ').at(-1)), ['gateway-1', 'gateway-2', 'everything']);
    const [g1, g2, client] = await Promise.all(lines.map(checkConfig));
    for (const g of [g1!, g2!]) {
      assert.equal(g.command, 'gateway');
      assert.equal(g.options.redis, 'redis://redis:6379/0');
      assert.equal(g.options.jwtSecret, '***');
    }
    assert.ok(doc.services.redis, 'a redis service');
    const conf = readFileSync(join(DEPLOY, 'nginx-scale-out.conf'), 'utf8');
    const upstream = /upstream \S+ \{([^}]*)\}/.exec(conf)![1]!;
    assert.deepEqual([...upstream.matchAll(/server (\S+?):4444/g)].map((m) => m[1]), ['gateway-1', 'gateway-2']);
    assert.doesNotMatch(upstream, /ip_hash|hash |sticky/);
    const port = /listen (\d+);/.exec(conf)![1];
    assert.equal(client!.servers[0].gateway, `http://balancer:${port}`);
    assert.match(String(doc.services.balancer.volumes[0]), /nginx-scale-out\.conf/);
  });
});
