// A real authorization server (oidc-provider: refresh-token rotation, reuse detection,
// RFC 8707 resource indicators, dynamic registration, revocation) in front of a real
// MCP server built with the official TypeScript SDK, for the refresh-under-load test.
//
//   node oidc-peer.mjs            prints {"mcp": URL, "issuer": URL} on stdout when ready
// GET <mcp origin>/stats -> {"refreshes": n, "refreshErrors": n, "codes": n}
// GET <mcp origin>/revoke-machine-client -> the machine client is deleted from now on
// GET <mcp origin>/use-authorization-server?issuer=URL -> the protected-resource metadata
//   names that authorization server from now on (a resource that moved, or was taken over)
// STATIC_CLIENT='{"client_id": ..., "client_secret": ...}' adds a client registered by
//   hand (native, client_secret_basic, any loopback redirect port).
// MACHINE_CLIENT='{"client_id": ..., "jwks": {...}}' adds a machine client instead: the
//   client credentials grant, private_key_jwt with that public key; the MCP server then
//   takes its (DPoP-bound) tokens, checks every DPoP proof itself with jose, and counts
//   them in /stats (machineGrants, dpopRequests, bearerRequests, badProofs).
// oidc-provider advertises DPoP, so sign-ins get DPoP-bound tokens: the MCP server takes
// `Authorization: DPoP` with a valid proof (checked here with jose) as well as `Bearer`.
// Access tokens live ACCESS_TTL seconds (default 4), ID tokens ID_TOKEN_TTL (default
// 3600). Sign-in interactions are approved
// automatically (the "user" says yes), so a test can follow the URL without a UI.
import http from 'node:http';
import { createHash } from 'node:crypto';
import * as jose from 'jose';
import Provider from 'oidc-provider';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

const TTL = Number(process.env.ACCESS_TTL || 4);
// PORTS='<as>,<mcp>' listens there (a test restarts the peer in place); else any free port.
const fixed = (process.env.PORTS || '').split(',').map(Number);
const listen = (srv, port) => new Promise((r) => srv.listen(port || 0, '127.0.0.1', () => r(srv.address().port)));

const asServer = http.createServer();
const mcpServer = http.createServer();
const [asPort, mcpPort] = [await listen(asServer, fixed[0]), await listen(mcpServer, fixed[1])];
const issuer = `http://127.0.0.1:${asPort}`;
const mcpUrl = `http://127.0.0.1:${mcpPort}/mcp`;
const stats = { revokedTokenRequests: 0, revokedMcpRequests: 0, refreshes: 0, refreshErrors: 0, codes: 0, machineGrants: 0, machineErrors: 0, dpopRequests: 0, bearerRequests: 0, badProofs: 0 };
let authorizationServer = issuer;
// GET <mcp origin>/revoke-machine-client: from then on the machine client is gone, as
// when an administrator deletes it: its tokens are refused and the token endpoint
// answers `invalid_client`, as oidc-provider does for an unknown client.
let machineRevoked = false;
const machine = process.env.MACHINE_CLIENT ? JSON.parse(process.env.MACHINE_CLIENT) : null;
const clients = machine
  ? [{
      client_id: machine.client_id,
      jwks: machine.jwks,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
    }]
  : process.env.STATIC_CLIENT
  ? [{
      ...JSON.parse(process.env.STATIC_CLIENT),
      application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }]
  : [];

const provider = new Provider(issuer, {
  clients,
  scopes: ['openid'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: Boolean(machine) },
    registration: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => mcpUrl,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== mcpUrl) throw new Error(`unknown resource ${resource}`);
        return { scope: 'mcp', audience: mcpUrl, accessTokenTTL: TTL, accessTokenFormat: 'opaque' };
      },
    },
  },
  pkce: { required: () => true },
  ttl: { IdToken: Number(process.env.ID_TOKEN_TTL || 3600) },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
});
provider.on('grant.success', (ctx) => {
  const g = ctx.oidc.params.grant_type;
  if (g === 'refresh_token') stats.refreshes++;
  if (g === 'authorization_code') stats.codes++;
  if (g === 'client_credentials') stats.machineGrants++;
});
provider.on('grant.error', (ctx) => {
  if (ctx.oidc?.params?.grant_type === 'refresh_token') stats.refreshErrors++;
  if (ctx.oidc?.params?.grant_type === 'client_credentials') stats.machineErrors++;
});

// The token of a request: `Bearer` for access tokens, `DPoP` (with a valid proof for this
// very request, bound to the token's key) for DPoP-bound client-credentials tokens.
async function tokenOf(req) {
  const auth = req.headers.authorization ?? '';
  const [scheme, value] = [auth.slice(0, auth.indexOf(' ')).toLowerCase(), auth.slice(auth.indexOf(' ') + 1)];
  const find = async (v) => (await provider.AccessToken.find(v))
    ?? (machine ? await provider.ClientCredentials.find(v) : undefined);
  if (scheme === 'bearer') {
    stats.bearerRequests++;
    return find(value);
  }
  if (scheme !== 'dpop') return undefined;
  stats.dpopRequests++;
  const token = await find(value);
  try {
    const proof = req.headers.dpop;
    const { jwk, typ } = jose.decodeProtectedHeader(proof);
    const { payload } = await jose.jwtVerify(proof, await jose.importJWK(jwk, 'ES256'));
    const ath = createHash('sha256').update(value).digest('base64url');
    const ok = typ === 'dpop+jwt' && !jwk.d && payload.htm === req.method && payload.htu === mcpUrl
      && payload.ath === ath && token?.jkt === await jose.calculateJwkThumbprint(jwk, 'sha256');
    if (ok) return token;
  } catch {}
  stats.badProofs++;
  return undefined;
}

const callback = provider.callback();
asServer.on('request', async (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    try {
      const interaction = await provider.interactionDetails(req, res);
      const { prompt: { name, details }, params, session } = interaction;
      if (name === 'login') {
        return await provider.interactionFinished(req, res, { login: { accountId: 'test-user' } }, { mergeWithLastSubmission: false });
      }
      const grant = interaction.grantId
        ? await provider.Grant.find(interaction.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
      if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      return await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    } catch (e) {
      res.statusCode = 500;
      return res.end(String(e));
    }
  }
  if (machineRevoked && req.method === 'POST' && req.url === '/token') {
    stats.revokedTokenRequests++;
    res.statusCode = 401;
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify({ error: 'invalid_client', error_description: 'client authentication failed' }));
  }
  return callback(req, res);
});

const challenge = `Bearer resource_metadata="http://127.0.0.1:${mcpPort}/.well-known/oauth-protected-resource/mcp", scope="${machine ? 'mcp' : 'openid mcp'}"`;
// A request whose client went away mid-way (a bridge exiting with its GET stream
// open) must not take the whole peer down with an unhandled rejection.
mcpServer.on('request', (req, res) => serveMcp(req, res).catch(() => res.destroy()));
async function serveMcp(req, res) {
  if (req.url === '/stats') {
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify(stats));
  }
  if (req.url === '/revoke-machine-client') {
    machineRevoked = true;
    return res.end('ok');
  }
  if (req.url.startsWith('/use-authorization-server?')) {
    authorizationServer = new URL(req.url, mcpUrl).searchParams.get('issuer');
    return res.end('ok');
  }
  if (req.url === '/.well-known/oauth-protected-resource/mcp') {
    res.setHeader('content-type', 'application/json');
    const scopes = machine ? ['mcp'] : ['openid', 'mcp'];
    return res.end(JSON.stringify({ resource: mcpUrl, authorization_servers: [authorizationServer], scopes_supported: scopes }));
  }
  if (!req.url.startsWith('/mcp')) {
    res.statusCode = 404;
    return res.end();
  }
  const token = await tokenOf(req).catch(() => undefined);
  const revoked = machineRevoked && token && token.clientId === machine?.client_id;
  if (revoked) stats.revokedMcpRequests++;
  if (!token || revoked || token.isExpired || token.aud !== mcpUrl) {
    res.statusCode = 401;
    res.setHeader('WWW-Authenticate', challenge);
    return res.end('{"error":"invalid_token"}');
  }
  let body = '';
  for await (const chunk of req) body += chunk;
  const server = new McpServer({ name: 'oidc-protected', version: '1.0.0' });
  server.tool('whoami', 'Who the token belongs to', async () => ({ content: [{ type: 'text', text: `you are ${token.accountId ?? token.clientId}` }] }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, body ? JSON.parse(body) : undefined);
}

process.stdout.write(JSON.stringify({ mcp: mcpUrl, issuer }) + '\n');
