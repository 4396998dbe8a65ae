// The client under test for `@modelcontextprotocol/conformance client`: a real MCP
// client (official TypeScript SDK) that reaches the scenario's server only through
// `keybroker bridge`, which does all HTTP, OAuth and session work.
//
//   node conformance-client.mjs <server-url>     (the harness appends the URL)
// Env: KEYBROKER (path to the binary), MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { followPrintedUrls } from './browser.mjs';

const url = process.argv[process.argv.length - 1];
const kb = process.env.KEYBROKER;
const scenario = process.env.MCP_CONFORMANCE_SCENARIO || '';
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || '{}');
const home = mkdtempSync(join(tmpdir(), 'kb-conf-'));
const env = { ...process.env, KEYBROKER_HOME: home };
const config = join(home, 'claude_desktop_config.json');

// The bridge arguments `add` wrote into the entry (`bridge --binding <b> <id>`): the
// bridge serves only the entry that carries the server's binding id, as a host starts it.
function bridgeArgs() {
  return JSON.parse(readFileSync(config, 'utf8')).mcpServers.srv.args;
}
const signInArgs = ['--sign-in', '--no-browser', '--timeout', '20'];

function kbRun(args, input) {
  const r = spawnSync(kb, args, { env, input: input ?? '', encoding: 'utf8' });
  process.stderr.write(r.stderr);
  if (r.status !== 0) throw new Error(`keybroker ${args[0]} exited ${r.status}`);
}

// The 2026-07-28 draft's stateless lifecycle (no initialize; `_meta` on every request),
// which the SDK client does not speak yet: plain JSON-RPC lines over the bridge's stdio.
// Raw JSON-RPC over the bridge's stdio, so what the server receives is exactly what this
// host sent (no SDK-side parsing in between): `stateless` adds the draft's `_meta`.
async function rawSession(version, stateless, body) {
  const child = spawn(kb, [...bridgeArgs(), ...signInArgs],
    { env, stdio: ['pipe', 'pipe', 'pipe'] });
  followPrintedUrls(child.stderr, (line) => process.stderr.write(line + '\n'));
  const replies = new Map();
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c) => {
    buf += c;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      replies.get(msg.id)?.(msg);
    }
  });
  let next = 1;
  const meta = { 'io.modelcontextprotocol/protocolVersion': version, 'io.modelcontextprotocol/clientCapabilities': {} };
  const call = (method, params = {}) => new Promise((resolve, reject) => {
    const id = next++;
    replies.set(id, (m) => (m.error ? reject(new Error(`${m.error.code}: ${m.error.message}`)) : resolve(m.result)));
    const p = stateless ? { ...params, _meta: meta } : params;
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params: p }) + '\n');
  });
  try {
    if (!stateless) {
      await call('initialize', { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
      child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
    }
    await body(call);
  } finally {
    child.stdin.end();
  }
}

async function statelessSession(version) {
  await rawSession(version, true, async (call) => {
    const { tools } = await call('tools/list');
    for (const tool of tools) await call('tools/call', { name: tool.name, arguments: {} });
  });
}

let code = 0;
try {
  const add = ['add', 'claude-desktop', 'srv', '--url', url, '--config', config,
    '--client-metadata-url', 'https://conformance-test.local/client-metadata.json'];
  if (context.client_id) {
    add.push('--client-id', context.client_id);
    if (context.client_secret) add.push('--client-secret-stdin');
  }
  kbRun(add, context.client_secret);
  if (process.env.MCP_CONFORMANCE_PROTOCOL_VERSION === '2026-07-28') {
    await statelessSession(process.env.MCP_CONFORMANCE_PROTOCOL_VERSION);
    rmSync(home, { recursive: true, force: true });
    process.exit(0);
  }
  if (scenario === 'json-schema-2020-12-preservation') {
    // Echo the focal tool's inputSchema back verbatim: proves the bridge changes nothing.
    await rawSession('2025-11-25', false, async (call) => {
      const { tools } = await call('tools/list');
      const focal = tools.find((t) => t.name !== 'json_schema_echo');
      await call('tools/call', { name: 'json_schema_echo', arguments: { schema: focal.inputSchema } });
    });
    rmSync(home, { recursive: true, force: true });
    process.exit(0);
  }
  const transport = new StdioClientTransport({
    command: kb,
    args: [...bridgeArgs(), ...signInArgs],
    env,
    stderr: 'pipe',
  });
  followPrintedUrls(transport.stderr, (line) => process.stderr.write(line + '\n'));
  const client = new Client({ name: 'keybroker-conformance', version: '0.0.0' }, { capabilities: { elicitation: {} } });
  // Server-initiated requests travel back through the bridge: accept elicitations with
  // the schema's defaults, as a user pressing OK on a pre-filled form would.
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    const content = {};
    for (const [k, v] of Object.entries(req.params.requestedSchema?.properties ?? {})) {
      if (v.default !== undefined) content[k] = v.default;
    }
    return { action: 'accept', content };
  });
  await client.connect(transport);
  if (scenario !== 'initialize') {
    const { tools } = await client.listTools();
    for (const tool of tools) {
      const args = {};
      for (const [k, v] of Object.entries(tool.inputSchema?.properties ?? {})) {
        args[k] = v.type === 'number' || v.type === 'integer' ? 2 : 'x';
      }
      await client.callTool({ name: tool.name, arguments: args });
    }
  }
  await client.close();
} catch (e) {
  console.error(`conformance client: ${e?.message ?? e}`);
  code = 1;
} finally {
  rmSync(home, { recursive: true, force: true });
}
process.exit(code);
