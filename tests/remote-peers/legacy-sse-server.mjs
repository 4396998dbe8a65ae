// A legacy (2024-11-05) HTTP+SSE MCP server built with the official TypeScript SDK:
// GET /mcp opens the event stream, which names POST /messages?sessionId=... as the
// endpoint; POST /mcp is not served (404), as on servers that predate Streamable HTTP.
//   node legacy-sse-server.mjs      prints the port on stdout when ready
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { z } from 'zod';

const transports = new Map();
const srv = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (req.method === 'GET' && url.pathname === '/mcp') {
    const transport = new SSEServerTransport('/messages', res);
    transports.set(transport.sessionId, transport);
    res.on('close', () => transports.delete(transport.sessionId));
    const server = new McpServer({ name: 'legacy-sse', version: '1.0.0' });
    server.tool('echo', { text: z.string() }, async ({ text }) => ({ content: [{ type: 'text', text: `legacy echo: ${text}` }] }));
    await server.connect(transport);
    return;
  }
  if (req.method === 'POST' && url.pathname === '/messages') {
    const t = transports.get(url.searchParams.get('sessionId'));
    if (!t) { res.statusCode = 404; return res.end(); }
    return t.handlePostMessage(req, res);
  }
  res.statusCode = 404;
  res.end();
});
srv.listen(0, '127.0.0.1', () => process.stdout.write(`${srv.address().port}\n`));
