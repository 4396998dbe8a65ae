// Benchmark (not a test): what `keybroker bridge` costs per request, against a direct
// Streamable HTTP client and against `mcp-remote`, all talking to the same local MCP
// server (official TypeScript SDK, JSON responses) with the official SDK client.
//
//   node bench-remote.mjs <keybroker> <KEYBROKER_HOME> <server-id-prefix>
// Env: BENCH_CALLS (default 500), BENCH_CONCURRENCY (default 8), BENCH_COLD (default 15).
// Prints, per path: median and p95 latency of sequential tools/call, throughput with
// BENCH_CONCURRENCY calls in flight, and peak RSS of the middle process; first, whole
// cold sessions through each path.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const [kb, home] = process.argv.slice(2);
const CALLS = Number(process.env.BENCH_CALLS || 500);
const CONC = Number(process.env.BENCH_CONCURRENCY || 8);

if (process.argv[2] === '--server') {
  const srv = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const server = new McpServer({ name: 'bench', version: '1' });
    server.tool('echo', { text: z.string() }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
    const t = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => { t.close(); server.close(); });
    await server.connect(t);
    await t.handleRequest(req, res, body ? JSON.parse(body) : undefined);
  });
  srv.listen(0, '127.0.0.1', () => process.stdout.write(`${srv.address().port}\n`));
} else {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--server'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((r) => child.stdout.once('data', (d) => r(String(d).trim())));
  const url = `http://127.0.0.1:${port}/mcp`;
  const cfg = join(mkdtempSync(join(tmpdir(), 'kb-bench-')), 'config.json');
  const env = { ...process.env, KEYBROKER_HOME: home };
  const add = spawnSync(kb, ['add', 'claude-desktop', 'bench', '--url', url, '--config', cfg], { env, encoding: 'utf8' });
  if (add.status !== 0) throw new Error(add.stderr);
  // The entry's own arguments (`bridge --binding <b> <id>`), as a host starts it.
  const bridgeArgs = JSON.parse(readFileSync(cfg, 'utf8')).mcpServers.bench.args;

  const peakRss = (pid) => {
    try {
      const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
      return m ? Number(m[1]) / 1024 : NaN;
    } catch { return NaN; }
  };
  async function measure(name, makeTransport) {
    const transport = makeTransport();
    const client = new Client({ name: 'bench', version: '1' });
    await client.connect(transport);
    for (let i = 0; i < 20; i++) await client.callTool({ name: 'echo', arguments: { text: 'w' } });
    const lat = [];
    for (let i = 0; i < CALLS; i++) {
      const t0 = process.hrtime.bigint();
      await client.callTool({ name: 'echo', arguments: { text: `m${i}` } });
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    lat.sort((a, b) => a - b);
    const t0 = process.hrtime.bigint();
    let next = 0;
    await Promise.all(Array.from({ length: CONC }, async () => {
      while (next < CALLS) { next++; await client.callTool({ name: 'echo', arguments: { text: 'x' } }); }
    }));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const rss = transport.pid ? peakRss(transport.pid) : 0;
    await client.close();
    return { name, p50: lat[Math.floor(lat.length / 2)], p95: lat[Math.floor(lat.length * 0.95)], rps: CALLS / secs, rss };
  }
  // A whole cold session, as a host runs one: start the transport (spawn the middle
  // process), initialize, tools/list, tools/call, close; wall time, median of COLD runs.
  const COLD = Number(process.env.BENCH_COLD || 15);
  async function cold(name, makeTransport) {
    const times = [];
    for (let i = 0; i < COLD; i++) {
      const t0 = process.hrtime.bigint();
      const client = new Client({ name: 'bench', version: '1' });
      await client.connect(makeTransport());
      await client.listTools();
      await client.callTool({ name: 'echo', arguments: { text: 'cold' } });
      await client.close();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    return { name, median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1] };
  }
  const mcpRemoteProxy = new URL('./node_modules/mcp-remote/dist/proxy.js', import.meta.url).pathname;
  const colds = [
    await cold('direct HTTP client', () => new StreamableHTTPClientTransport(new URL(url))),
    await cold('keybroker bridge', () => new StdioClientTransport({ command: kb, args: bridgeArgs, env, stderr: 'ignore' })),
    await cold('mcp-remote', () => new StdioClientTransport({
      command: process.execPath, args: [mcpRemoteProxy, url, '--allow-http', '--transport', 'http-only'],
      env: { ...process.env, MCP_REMOTE_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'mcp-remote-')) }, stderr: 'ignore',
    })),
  ];
  console.log(`cold sessions (spawn, initialize, tools/list, tools/call, close), median of ${COLD}:`);
  for (const c of colds) {
    console.log(`${c.name.padEnd(22)} ${c.median.toFixed(1).padStart(7)} ms   (min ${c.min.toFixed(1)}, max ${c.max.toFixed(1)})`);
  }
  const [cDirect, cBridge, cRemote] = colds;
  console.log(`cold session through the bridge: x${(cBridge.median / cRemote.median).toFixed(3)} of mcp-remote's wall time (target <= 0.100); bridge time over direct: ${(cBridge.median - cDirect.median).toFixed(1)} ms, mcp-remote's: ${(cRemote.median - cDirect.median).toFixed(1)} ms`);

  const results = [];
  results.push(await measure('direct HTTP client', () => new StreamableHTTPClientTransport(new URL(url))));
  results.push(await measure('keybroker bridge', () => new StdioClientTransport({ command: kb, args: bridgeArgs, env, stderr: 'ignore' })));
  const mcpRemote = new URL('./node_modules/mcp-remote/dist/proxy.js', import.meta.url).pathname;
  results.push(await measure('mcp-remote', () => new StdioClientTransport({
    command: process.execPath, args: [mcpRemote, url, '--allow-http', '--transport', 'http-only'],
    env: { ...process.env, MCP_REMOTE_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'mcp-remote-')) }, stderr: 'ignore',
  })));
  child.kill();
  const [direct, bridge, remote] = results;
  console.log(`calls: ${CALLS} sequential, then ${CALLS} with ${CONC} in flight`);
  console.log('path                   p50 ms   p95 ms   calls/s   middle RSS MiB');
  for (const r of results) {
    console.log(`${r.name.padEnd(22)} ${r.p50.toFixed(2).padStart(6)}   ${r.p95.toFixed(2).padStart(6)}   ${r.rps.toFixed(0).padStart(7)}   ${r.rss ? r.rss.toFixed(1) : '-'}`);
  }
  console.log(`bridge vs direct: +${(bridge.p50 - direct.p50).toFixed(2)} ms p50 per request, throughput x${(bridge.rps / direct.rps).toFixed(2)}`);
  console.log(`bridge vs mcp-remote: p50 x${(bridge.p50 / remote.p50).toFixed(2)}, throughput x${(bridge.rps / remote.rps).toFixed(2)}, memory x${(bridge.rss / remote.rss).toFixed(2)}`);
  process.exit(0);
}
