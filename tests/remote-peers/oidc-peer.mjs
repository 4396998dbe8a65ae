// A real authorization server (oidc-provider: refresh-token rotation, reuse detection,
// RFC 8707 resource indicators, dynamic registration, revocation) in front of a real
// MCP server built with the official TypeScript SDK, for the refresh-under-load test.
//
//   node oidc-peer.mjs            prints {"mcp": URL, "issuer": URL} on stdout when ready
// GET <mcp origin>/stats -> {"refreshes": n, "refreshErrors": n, "codes": n}
// GET <mcp origin>/use-authorization-server?issuer=URL -> the protected-resource metadata
//   names that authorization server from now on (a resource that moved, or was taken over)
// STATIC_CLIENT='{"client_id": ..., "client_secret": ...}' adds a client registered by
//   hand (native, client_secret_basic, any loopback redirect port).
// Access tokens live ACCESS_TTL seconds (default 4). Sign-in interactions are approved
// automatically (the "user" says yes), so a test can follow the URL without a UI.
import http from 'node:http';
import Provider from 'oidc-provider';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

const TTL = Number(process.env.ACCESS_TTL || 4);
const listen = (srv) => new Promise((r) => srv.listen(0, '127.0.0.1', () => r(srv.address().port)));

const asServer = http.createServer();
const mcpServer = http.createServer();
const [asPort, mcpPort] = [await listen(asServer), await listen(mcpServer)];
const issuer = `http://127.0.0.1:${asPort}`;
const mcpUrl = `http://127.0.0.1:${mcpPort}/mcp`;
const stats = { refreshes: 0, refreshErrors: 0, codes: 0 };
let authorizationServer = issuer;
const clients = process.env.STATIC_CLIENT
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
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
});
provider.on('grant.success', (ctx) => {
  const g = ctx.oidc.params.grant_type;
  if (g === 'refresh_token') stats.refreshes++;
  if (g === 'authorization_code') stats.codes++;
});
provider.on('grant.error', (ctx) => {
  if (ctx.oidc?.params?.grant_type === 'refresh_token') stats.refreshErrors++;
});

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
  return callback(req, res);
});

const challenge = `Bearer resource_metadata="http://127.0.0.1:${mcpPort}/.well-known/oauth-protected-resource/mcp", scope="openid mcp"`;
mcpServer.on('request', async (req, res) => {
  if (req.url === '/stats') {
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify(stats));
  }
  if (req.url.startsWith('/use-authorization-server?')) {
    authorizationServer = new URL(req.url, mcpUrl).searchParams.get('issuer');
    return res.end('ok');
  }
  if (req.url === '/.well-known/oauth-protected-resource/mcp') {
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify({ resource: mcpUrl, authorization_servers: [authorizationServer], scopes_supported: ['openid', 'mcp'] }));
  }
  if (!req.url.startsWith('/mcp')) {
    res.statusCode = 404;
    return res.end();
  }
  const auth = req.headers.authorization ?? '';
  const token = auth.startsWith('Bearer ') ? await provider.AccessToken.find(auth.slice(7)) : undefined;
  if (!token || token.isExpired || token.aud !== mcpUrl) {
    res.statusCode = 401;
    res.setHeader('WWW-Authenticate', challenge);
    return res.end('{"error":"invalid_token"}');
  }
  let body = '';
  for await (const chunk of req) body += chunk;
  const server = new McpServer({ name: 'oidc-protected', version: '1.0.0' });
  server.tool('whoami', 'Who the token belongs to', async () => ({ content: [{ type: 'text', text: `you are ${token.accountId}` }] }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, body ? JSON.parse(body) : undefined);
});

process.stdout.write(JSON.stringify({ mcp: mcpUrl, issuer }) + '\n');
