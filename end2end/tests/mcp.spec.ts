import { expect, test, type Page } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import {
  getOAuthProtectedResourceMetadataUrl,
  mcpAuthMetadataRouter,
} from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { dataDir, tesseraBin } from '../playwright.config';

// A real MCP client against an MCP server protected by Tessera, both from the official
// `@modelcontextprotocol/sdk` (nothing of the OAuth client is ours: only the provider's
// storage and redirect callbacks, which the SDK leaves to the application).
//
// The MCP server, written here: Streamable HTTP, one tool (`whoami`), the SDK's
// `requireBearerAuth` (tokens verified against Tessera's JWKS: signature, iss, aud, exp)
// and its `mcpAuthMetadataRouter` publishing the RFC 9728 metadata that names Tessera.
// It is registered in Tessera with the CLI (`tessera scope add`, `tessera api add`).
//
// The client: 401 → resource metadata from WWW-Authenticate → Tessera's metadata →
// registration → code flow with PKCE and `resource` through Tessera's real login and
// consent pages in Chromium → token → the tool.
//
// Each run starts its OWN Tessera (not the suite's webServer) on a free port with its own
// SQLite database in the run's data directory, because it needs non-default flags:
//   (a) `--client-id-metadata-documents --client-id-metadata-ca <test CA>`: the client id
//       is an https URL (the SDK requires https for `clientMetadataUrl`) served on loopback
//       by this spec with a certificate from a CA made here with openssl;
//   (b) dynamic registration (RFC 7591) in open mode, with the MCP scope among the scopes
//       open mode grants: `tessera registration mode open --open-scopes "openid mcp:tools"`
//       before `serve`.

const siteRoot = path.resolve(__dirname, '..', '..', process.env.LEPTOS_SITE_ROOT || 'target/site');
const USER = { username: 'mcp-user', password: 'mcp-password-1' };
const SCOPE = 'mcp:tools';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function cli(databaseUrl: string, args: string[], input?: string): string {
  return execFileSync(tesseraBin, ['--database-url', databaseUrl, ...args], {
    input,
    stdio: ['pipe', 'pipe', 'inherit'],
    timeout: 30_000,
  }).toString();
}

/// A Tessera of this run's own: its database prepared by the CLI, then `serve` with `flags`.
async function startTessera(name: string, mcpUrl: string, flags: string[], setup: string[][] = []) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const databaseUrl = `sqlite://${path.join(dataDir!, `${name}.db`)}?mode=rwc`;
  cli(databaseUrl, ['user', 'add', USER.username, '--password-stdin'], `${USER.password}\n`);
  cli(databaseUrl, ['scope', 'add', SCOPE, '--description', 'Call the tools of the MCP E2E server']);
  const api = JSON.parse(cli(databaseUrl, ['api', 'add', mcpUrl, '--name', 'MCP E2E server', '--scope', SCOPE]));
  expect(api.identifier).toBe(mcpUrl);
  for (const args of setup) cli(databaseUrl, args);
  const proc = spawn(
    tesseraBin,
    ['serve', '--addr', `127.0.0.1:${port}`, '--database-url', databaseUrl, ...flags],
    {
      env: {
        ...process.env,
        // As the suite's own server: the embedded site when the suite runs the release
        // binary alone (scripts/test.sh), else the built site root.
        ...(process.env.TESSERA_E2E_EMBEDDED_SITE === '1' ? {} : { LEPTOS_SITE_ROOT: siteRoot }),
        TESSERA_SECRET: 'tessera-e2e-server-secret-0123456789abcdef',
        RUST_LOG: process.env.RUST_LOG || 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  for (let i = 0; i < 150; i++) {
    if (proc.exitCode !== null) throw new Error(`tessera serve exited with ${proc.exitCode}`);
    try {
      if ((await fetch(`${issuer}/readyz`)).ok) return { issuer, proc };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  proc.kill();
  throw new Error('tessera serve did not become ready');
}

/// RFC 9068 access token checks against Tessera's JWKS, with node:crypto only.
async function verifyWithJwks(token: string, issuer: string, resource: string): Promise<AuthInfo> {
  const [h, p, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  const jwks = await (await fetch(`${issuer}/jwks.json`)).json();
  const jwk = jwks.keys.find((k: { kid: string }) => k.kid === header.kid);
  if (!jwk) throw new InvalidTokenError('unknown kid');
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(`${h}.${p}`);
  const sig = Buffer.from(s, 'base64url');
  const ok =
    header.alg === 'ES256'
      ? crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)
      : header.alg === 'PS256'
        ? crypto.verify('sha256', data, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)
        : header.alg === 'RS256'
          ? crypto.verify('sha256', data, key, sig)
          : header.alg === 'EdDSA'
            ? crypto.verify(null, data, key, sig)
            : false;
  if (!ok) throw new InvalidTokenError('bad signature');
  if (claims.iss !== issuer) throw new InvalidTokenError('wrong issuer');
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(resource)) throw new InvalidTokenError('not for this resource');
  return {
    token,
    clientId: claims.client_id,
    scopes: String(claims.scope || '').split(' ').filter(Boolean),
    expiresAt: claims.exp,
    resource: new URL(resource),
    extra: { aud: claims.aud, sub: claims.sub },
  };
}

/// The MCP server: listens on `port`, protected by Tessera at `issuer`.
async function startMcpServer(port: number, issuer: string) {
  const mcpUrl = new URL(`http://127.0.0.1:${port}/mcp`);
  const oauthMetadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  const seen = { unauthorized: 0, metadata: 0, toolCalls: 0 };
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    if (req.path.startsWith('/.well-known/oauth-protected-resource')) seen.metadata++;
    next();
  });
  app.use(
    mcpAuthMetadataRouter({
      oauthMetadata,
      resourceServerUrl: mcpUrl,
      scopesSupported: [SCOPE],
      resourceName: 'MCP E2E server',
    }),
  );
  const resourceMetadataUrl = getOAuthProtectedResourceMetadataUrl(mcpUrl);
  const bearer = requireBearerAuth({
    verifier: { verifyAccessToken: (t: string) => verifyWithJwks(t, issuer, mcpUrl.href) },
    requiredScopes: [SCOPE],
    resourceMetadataUrl,
    expectedResource: mcpUrl,
  });
  app.use('/mcp', (req, res, next) => {
    res.on('finish', () => {
      if (res.statusCode === 401) seen.unauthorized++;
    });
    next();
  });
  app.post('/mcp', bearer, async (req, res) => {
    // Stateless: a server and transport per request.
    const server = new McpServer({ name: 'mcp-e2e', version: '1.0.0' });
    server.registerTool('whoami', { description: 'Who the access token is for' }, async (extra) => {
      seen.toolCalls++;
      const info = extra.authInfo!;
      return {
        content: [
          {
            type: 'text' as const,
            text: JSON.stringify({ client_id: info.clientId, scopes: info.scopes, aud: info.extra?.aud, sub: info.extra?.sub }),
          },
        ],
      };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  app.get('/mcp', bearer, (_req, res) => res.status(405).set('Allow', 'POST').end());
  app.delete('/mcp', bearer, (_req, res) => res.status(405).set('Allow', 'POST').end());
  const listener: http.Server = await new Promise((resolve) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
  });
  return { mcpUrl, seen, close: () => new Promise<void>((r) => listener.close(() => r())) };
}

/// The application's side of the SDK's OAuth client: storage in memory, and the redirect
/// to the authorization server driving Chromium.
class E2EProvider implements OAuthClientProvider {
  clientMetadataUrl?: string;
  authorizationUrl?: URL;
  private info?: Parameters<NonNullable<OAuthClientProvider['saveClientInformation']>>[0];
  private saved?: Parameters<OAuthClientProvider['saveTokens']>[0];
  private verifier = '';

  constructor(
    private readonly page: Page,
    private readonly callback: string,
    clientMetadataUrl?: string,
  ) {
    this.clientMetadataUrl = clientMetadataUrl;
  }
  get redirectUrl() {
    return this.callback;
  }
  get clientMetadata() {
    return {
      client_name: 'MCP E2E Agent',
      redirect_uris: [this.callback],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: NonNullable<typeof this.info>) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: NonNullable<typeof this.saved>) {
    this.saved = tokens;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
    await this.page.goto(url.href);
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/// The whole MCP authorization as the SDK's client does it; returns the tool's answer.
async function mcpRun(page: Page, mcpUrl: URL, provider: E2EProvider, callback: string, host?: string) {
  const seen: { url?: URL } = {};
  await page.route(`${callback}**`, (route) => {
    seen.url = new URL(route.request().url());
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>MCP client callback</h1>' });
  });
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  const first = new Client({ name: 'mcp-e2e-client', version: '1.0.0' });
  // The 401 starts the SDK's authorization; it ends in redirectToAuthorization.
  await expect(first.connect(transport)).rejects.toThrow(UnauthorizedError);
  await expect(page).toHaveURL(/\/login\?request=/);
  await page.locator('input[name=username]').fill(USER.username);
  await page.locator('input[name=password]').fill(USER.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/consent\?request=/);
  await expect(page.getByTestId('scopes')).toContainText(SCOPE);
  // A metadata-document client: its host, prominently.
  if (host) await expect(page.getByTestId('client-host')).toContainText(host);
  // RFC 8707: the SDK names the MCP server as the resource; the page says so.
  await expect(page.getByTestId('apis')).toContainText(mcpUrl.href.replace(/\/$/, ''));
  await page.getByRole('button', { name: 'Allow' }).click();
  await expect.poll(() => seen.url?.searchParams.get('code')).toBeTruthy();
  await transport.finishAuth(seen.url!.searchParams.get('code')!);
  await transport.close();

  const client = new Client({ name: 'mcp-e2e-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
  const tools = await client.listTools();
  expect(tools.tools.map((t) => t.name)).toEqual(['whoami']);
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  await client.close();
  const content = result.content as { type: string; text: string }[];
  return { answer: JSON.parse(content[0].text) };
}

function claimsOf(jwt: string) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/// A CA and a certificate for 127.0.0.1 signed by it, made with openssl.
function testCertificates() {
  const dir = fs.mkdtempSync(path.join(dataDir!, 'mcp-tls-'));
  const f = (n: string) => path.join(dir, n);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'),
    '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=Tessera e2e CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('srv.key'),
    '-out', f('srv.csr'), '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n');
  run(['x509', '-req', '-in', f('srv.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('srv.pem'), '-days', '1', '-extfile', f('ext.cnf')]);
  return { ca: f('ca.pem'), key: fs.readFileSync(f('srv.key')), cert: fs.readFileSync(f('srv.pem')) };
}

let processes: ChildProcess[] = [];
let closers: (() => Promise<void>)[] = [];
test.afterEach(async () => {
  for (const c of closers) await c();
  for (const p of processes) p.kill();
  closers = [];
  processes = [];
});

test('MCP client registers by a client ID metadata document and calls a tool', async ({ page }) => {
  test.setTimeout(120_000);
  const tls = testCertificates();
  const mcpPort = await freePort();
  const mcpIdentifier = `http://127.0.0.1:${mcpPort}/mcp`;
  const callback = `http://127.0.0.1:${await freePort()}/callback`;

  // The client's metadata document, on https (loopback, the test CA).
  const docHits = { n: 0 };
  const docServer = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    docHits.n++;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
    res.end(JSON.stringify({
      client_id: clientMetadataUrl,
      client_name: 'MCP E2E Agent',
      redirect_uris: [callback],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }));
  });
  await new Promise<void>((r) => docServer.listen(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise<void>((r) => docServer.close(() => r())));
  const clientMetadataUrl = `https://127.0.0.1:${(docServer.address() as net.AddressInfo).port}/oauth/client.json`;

  const tessera = await startTessera('mcp-cimd', mcpIdentifier, [
    '--client-id-metadata-documents',
    '--client-id-metadata-ca',
    tls.ca,
  ]);
  processes.push(tessera.proc);
  const meta = await (await fetch(`${tessera.issuer}/.well-known/oauth-authorization-server`)).json();
  expect(meta.client_id_metadata_document_supported).toBe(true);
  expect(meta.code_challenge_methods_supported).toContain('S256');
  const mcp = await startMcpServer(mcpPort, tessera.issuer);
  closers.push(mcp.close);
  // Tessera's own copy of the MCP server's resource metadata agrees with the SDK's.
  const own = await (await fetch(`${tessera.issuer}/resource-metadata?resource=${encodeURIComponent(mcpIdentifier)}`)).json();
  expect(own.authorization_servers).toEqual([tessera.issuer]);
  expect(own.scopes_supported).toEqual([SCOPE]);

  const provider = new E2EProvider(page, callback, clientMetadataUrl);
  const { answer } = await mcpRun(page, mcp.mcpUrl, provider, callback, '127.0.0.1');

  // The client found everything from the 401.
  expect(mcp.seen.unauthorized).toBeGreaterThanOrEqual(1);
  expect(mcp.seen.metadata).toBeGreaterThanOrEqual(1);
  // Registered by its document: the URL is the client_id, fetched by Tessera.
  const auth = provider.authorizationUrl!;
  expect(auth.origin).toBe(tessera.issuer);
  expect(auth.searchParams.get('client_id')).toBe(clientMetadataUrl);
  expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
  expect(auth.searchParams.get('resource')).toBe(mcpIdentifier);
  expect(docHits.n).toBeGreaterThanOrEqual(1);
  // The token is for the MCP server (RFC 8707), and the tool saw it.
  const claims = claimsOf(provider.tokens()!.access_token);
  expect(claims.aud).toBe(mcpIdentifier);
  expect(claims.client_id).toBe(clientMetadataUrl);
  expect(claims.scope).toBe(SCOPE);
  expect(answer.aud).toBe(mcpIdentifier);
  expect(answer.client_id).toBe(clientMetadataUrl);
  expect(answer.scopes).toEqual([SCOPE]);
  expect(mcp.seen.toolCalls).toBe(1);
});

test('MCP client registers dynamically (RFC 7591) and calls a tool', async ({ page }) => {
  test.setTimeout(120_000);

  const mcpPort = await freePort();
  const mcpIdentifier = `http://127.0.0.1:${mcpPort}/mcp`;
  const callback = `http://127.0.0.1:${await freePort()}/callback`;
  const tessera = await startTessera('mcp-dcr', mcpIdentifier, [], [
    ['registration', 'mode', 'open', '--open-scopes', `openid ${SCOPE}`],
  ]);
  processes.push(tessera.proc);
  const meta = await (await fetch(`${tessera.issuer}/.well-known/oauth-authorization-server`)).json();
  expect(meta.registration_endpoint).toBe(`${tessera.issuer}/register`);
  const mcp = await startMcpServer(mcpPort, tessera.issuer);
  closers.push(mcp.close);

  const provider = new E2EProvider(page, callback);
  const { answer } = await mcpRun(page, mcp.mcpUrl, provider, callback);

  expect(mcp.seen.unauthorized).toBeGreaterThanOrEqual(1);
  expect(mcp.seen.metadata).toBeGreaterThanOrEqual(1);
  // RFC 7591 §3.2.1: a client_id issued by Tessera, no secret for a public client.
  const info = provider.clientInformation()!;
  expect(info.client_id).toBeTruthy();
  expect(info.client_id.startsWith('http')).toBe(false);
  const auth = provider.authorizationUrl!;
  expect(auth.searchParams.get('client_id')).toBe(info.client_id);
  expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
  expect(auth.searchParams.get('resource')).toBe(mcpIdentifier);
  const claims = claimsOf(provider.tokens()!.access_token);
  expect(claims.aud).toBe(mcpIdentifier);
  expect(answer.aud).toBe(mcpIdentifier);
  expect(answer.client_id).toBe(info.client_id);
  expect(mcp.seen.toolCalls).toBe(1);
});
