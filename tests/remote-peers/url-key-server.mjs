// A remote MCP server whose URL is its credential, built with the official TypeScript
// SDK (Streamable HTTP, stateless): the key is a path segment (/s/<key>/mcp) or the
// `api_key` query parameter (/mcp?api_key=<key>&profile=...). A request whose key's
// SHA-256 is not URL_KEY_SHA256 gets 401 with no WWW-Authenticate challenge (the URL is
// the credential; there is nothing to sign in to). Nothing here prints a key.
//   URL_KEY_SHA256=<hex> node url-key-server.mjs     prints the port on stdout when ready
// Tools:
//   key_sha256 {}   -> sha256 hex of the key this request came with
//   profile {}      -> the `profile` query parameter (not a secret), or "unset"
import { createHash } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

const sha256 = (v) => createHash('sha256').update(v, 'utf8').digest('hex');
const want = (process.env.URL_KEY_SHA256 || '').toLowerCase();
const text = (t) => ({ content: [{ type: 'text', text: t }] });

function keyOf(url) {
  const m = url.pathname.match(/^\/s\/([^/]+)\/mcp$/);
  if (m) return decodeURIComponent(m[1]);
  if (url.pathname === '/mcp') return url.searchParams.get('api_key');
  return null;
}

const srv = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const key = keyOf(url);
  if (key === null || sha256(key) !== want) {
    res.writeHead(401, { 'Content-Type': 'application/json' });
    return res.end(JSON.stringify({ error: 'unknown key' }));
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'POST' });
    return res.end();
  }
  const server = new McpServer({ name: 'url-key', version: '1.0.0' });
  server.registerTool('key_sha256', { description: 'SHA-256 of the key in the URL', inputSchema: {} }, async () =>
    text(sha256(key)),
  );
  server.registerTool('profile', { description: 'The profile query parameter', inputSchema: {} }, async () =>
    text(url.searchParams.get('profile') ?? 'unset'),
  );
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res);
});
srv.listen(0, '127.0.0.1', () => process.stdout.write(`${srv.address().port}\n`));
