// The host under test for `@modelcontextprotocol/conformance client`: it reaches the
// scenario's server only through `keybroker bridge`, which does all HTTP, OAuth and
// session work. What a host does itself (choosing arguments, answering elicitations,
// retrying input-required results, negotiating the protocol version, loading skills) is
// done here, as a host would, so each scenario exercises the bridge end to end.
//
//   node conformance-client.mjs <server-url>     (the harness appends the URL)
// Env: KEYBROKER (path to the binary), MCP_CONFORMANCE_SCENARIO,
// MCP_CONFORMANCE_CONTEXT, MCP_CONFORMANCE_PROTOCOL_VERSION.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const version = process.env.MCP_CONFORMANCE_PROTOCOL_VERSION || '2025-11-25';
// The 2026-07-28 lifecycle: no initialize; `_meta` on every request.
const STATELESS = '2026-07-28';
const stateless = version >= STATELESS;
const home = mkdtempSync(join(tmpdir(), 'kb-conf-'));
const env = { ...process.env, KEYBROKER_HOME: home };
const config = join(home, 'claude_desktop_config.json');
// The bridge arguments `add` wrote into the entry (`bridge --binding <b> <id>`), as a host
// starts it: the bridge serves only the entry that carries the server's binding id.
function bridgeArgs() {
  const entry = JSON.parse(readFileSync(config, 'utf8')).mcpServers.srv;
  return [...entry.args, '--sign-in', '--no-browser', '--timeout', '20'];
}
const clientInfo = { name: 'keybroker-conformance', version: '0.0.0' };

function kbRun(args, input) {
  const r = spawnSync(kb, args, { env, input: input ?? '', encoding: 'utf8' });
  process.stderr.write(r.stderr);
  if (r.status !== 0) throw new Error(`keybroker ${args[0]} exited ${r.status}`);
}

// What the user types to add the server: `keybroker add` with the scenario's client,
// as a machine client where the scenario is one (the extension scenarios).
function addServer() {
  const add = ['add', 'claude-desktop', 'srv', '--url', url, '--config', config,
    '--client-metadata-url', 'https://conformance-test.local/client-metadata.json'];
  let input = context.client_secret;
  if (context.client_id) {
    add.push('--client-id', context.client_id);
    if (context.client_secret) add.push('--client-secret-stdin');
  }
  if (scenario.startsWith('auth/client-credentials-')) add.push('--client-credentials');
  if (context.private_key_pem) {
    add.push('--private-key-jwt', '--private-key-stdin');
    input = context.private_key_pem;
  }
  if (context.valid_jwt) {
    // Workload identity: the platform keeps the token in a file.
    const file = join(home, 'workload-token.jwt');
    writeFileSync(file, context.valid_jwt);
    add.push('--workload-jwt-file', file);
  }
  if (context.idp_issuer) {
    // Enterprise-managed: the organisation's IdP is set up once, with the user's ID token.
    kbRun(['idp', 'add', 'corp', '--issuer', context.idp_issuer, '--client-id', context.idp_client_id,
      '--id-token-stdin'], context.idp_id_token);
    add.push('--idp', 'corp');
  }
  kbRun(add, input);
}

// Arguments a host would fill in for a tool: the scenario's own, else one value per
// property of the schema's type.
function argumentsFor(tool) {
  const given = (context.toolCalls ?? []).find((c) => c.name === tool.name);
  if (given) return given.arguments;
  const args = {};
  for (const [k, v] of Object.entries(tool.inputSchema?.properties ?? {})) {
    args[k] = v.type === 'number' || v.type === 'integer' ? 2 : 'x';
  }
  return args;
}

// A user pressing OK on a pre-filled form: the schema's defaults.
function acceptWithDefaults(requestedSchema) {
  const content = {};
  for (const [k, v] of Object.entries(requestedSchema?.properties ?? {})) {
    if (v.default !== undefined) content[k] = v.default;
  }
  return { action: 'accept', content };
}

// Raw JSON-RPC lines over the bridge's stdio, so what the server receives is exactly what
// this host sent (no SDK-side parsing in between).
async function rawSession(body) {
  const child = spawn(kb, bridgeArgs(), { env, stdio: ['pipe', 'pipe', 'pipe'] });
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
  child.on('exit', () => {
    for (const done of replies.values()) done({ error: { code: -1, message: 'the bridge exited' } });
  });
  let next = 1;
  let protocolVersion = version;
  const send = (method, params) => new Promise((resolve, reject) => {
    const id = next++;
    replies.set(id, (m) => {
      replies.delete(id);
      if (m.error) {
        const e = new Error(`${m.error.code}: ${m.error.message}`);
        e.rpc = m.error;
        reject(e);
      } else resolve(m.result);
    });
    const meta = {
      'io.modelcontextprotocol/protocolVersion': protocolVersion,
      'io.modelcontextprotocol/clientInfo': clientInfo,
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const p = stateless ? { ...params, _meta: { ...meta, ...params?._meta } } : params;
    child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params: p }) + '\n');
  });
  // Version negotiation (2026-07-28): a server that does not speak the requested
  // version names the ones it does; retry once with one this host speaks.
  const call = async (method, params = {}) => {
    try {
      return await send(method, params);
    } catch (e) {
      const supported = e.rpc?.code === -32022 ? e.rpc.data?.supported ?? [] : [];
      const pick = supported.find((v) => v >= STATELESS);
      if (!stateless || !pick) throw e;
      protocolVersion = pick;
      return await send(method, params);
    }
  };
  try {
    if (!stateless) {
      await call('initialize', { protocolVersion: version, capabilities: {}, clientInfo });
      child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
    }
    await body(call);
  } finally {
    child.stdin.end();
    await exited(child.pid);
  }
}

// Wait (at most 10 s) for a bridge this host closed to finish: it writes its last audit
// lines while it exits, and the home it writes to is removed afterwards.
async function exited(pid) {
  for (let i = 0; i < 200 && pid; i++) {
    try { process.kill(pid, 0); } catch { return; }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Call a tool as a host does; an input-required result (2026-07-28) is answered and the
// call retried with a new id, the answers, and the server's requestState echoed as is.
async function callTool(call, tool) {
  const params = { name: tool.name, arguments: argumentsFor(tool) };
  let result = await call('tools/call', params);
  for (let round = 0; round < 5 && result?.resultType === 'input_required'; round++) {
    const inputResponses = {};
    for (const [key, req] of Object.entries(result.inputRequests ?? {})) {
      if (req.method === 'elicitation/create') inputResponses[key] = acceptWithDefaults(req.params?.requestedSchema);
    }
    const retry = { ...params, inputResponses };
    if (result.requestState !== undefined) retry.requestState = result.requestState;
    result = await call('tools/call', retry);
  }
  return result;
}

const sha256 = (text) => 'sha256:' + createHash('sha256').update(text, 'utf8').digest('hex');

// The frontmatter of a SKILL.md as flat `key: value` pairs.
function frontmatter(text) {
  const m = text.match(/^---\r?\n([\s\S]*?)\r?\n---/);
  if (!m) return null;
  const out = {};
  for (const line of m[1].split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

// Skills (SEP-2640), the host's part: list them without fetching any file; load one by
// reading its SKILL.md, check it against the listed size, digest and frontmatter, and
// read its other files only when it passed. The digests only verify if the bridge
// carried every byte unchanged.
async function skills(call) {
  const { skills: list } = await call('skills/list');
  if (scenario === 'sep-2640-client-no-prefetch') return;
  const entry = list[0];
  const read = async (res) => {
    const { contents } = await call('resources/read', { uri: res.uri });
    const text = contents?.[0]?.text ?? '';
    if (Buffer.byteLength(text, 'utf8') !== res.size) throw new Error(`${res.uri}: size differs from the listing`);
    if (sha256(text) !== res.digest) throw new Error(`${res.uri}: digest differs from the listing`);
    return text;
  };
  const main = entry.resources.find((r) => r.uri === entry.uri);
  try {
    const fm = frontmatter(await read(main));
    for (const [k, v] of Object.entries(entry.frontmatter ?? {})) {
      if (fm?.[k] !== v) throw new Error(`${main.uri}: frontmatter \`${k}\` differs from the listing`);
    }
    for (const res of entry.resources.filter((r) => r !== main)) await read(res);
  } catch (e) {
    console.error(`skill not loaded: ${e.message}`);
  }
}

async function sdkSession() {
  const transport = new StdioClientTransport({ command: kb, args: bridgeArgs(), env, stderr: 'pipe' });
  followPrintedUrls(transport.stderr, (line) => process.stderr.write(line + '\n'));
  const client = new Client(clientInfo, { capabilities: { elicitation: {} } });
  // Server-initiated requests travel back through the bridge.
  client.setRequestHandler(ElicitRequestSchema, async (req) => acceptWithDefaults(req.params.requestedSchema));
  await client.connect(transport);
  if (scenario !== 'initialize') {
    const { tools } = await client.listTools();
    for (const tool of tools) await client.callTool({ name: tool.name, arguments: argumentsFor(tool) });
  }
  const pid = transport.pid;
  await client.close();
  await exited(pid);
}

let code = 0;
try {
  addServer();
  if (scenario === 'json-schema-2020-12-preservation') {
    // Echo the focal tool's inputSchema back verbatim: proves the bridge changes nothing.
    await rawSession(async (call) => {
      const { tools } = await call('tools/list');
      const focal = tools.find((t) => t.name !== 'json_schema_echo');
      await call('tools/call', { name: 'json_schema_echo', arguments: { schema: focal.inputSchema } });
    });
  } else if (scenario === 'json-schema-ref-no-deref') {
    // The server only lists tools; a host must not fetch the schema's network $ref.
    await rawSession((call) => call('tools/list'));
  } else if (scenario.startsWith('sep-2640-client-')) {
    await rawSession(skills);
  } else if (stateless) {
    await rawSession(async (call) => {
      const { tools } = await call('tools/list');
      for (const tool of tools) await callTool(call, tool);
    });
  } else {
    await sdkSession();
  }
} catch (e) {
  console.error(`conformance client: ${e?.message ?? e}`);
  code = 1;
} finally {
  // A bridge the SDK just closed may still be writing its last audit lines (and their
  // head) while it exits: retry instead of failing on a file that appeared meanwhile.
  rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}
process.exit(code);
