#!/usr/bin/env node
// guard-client: start one stdio MCP server from an mcpServers config file as a host does
// (the official SDK's StdioClientTransport with the entry's command, args and env), list
// its tools, make the calls asked for, and report every answer, refusals included.
//
//   node guard-client.mjs <config-path> <server-name> '<json: [{"tool": "...", "args": {...}}, ...]>'
//
// Environment as in spawn-from-config.mjs (SPAWN_PASS_ENV names variables to pass on).
// Output (exit 0), one JSON object on stdout:
//   {"tools": ["name", ...], "results": [{"tool": t, "ok": true, "text": "..."} |
//    {"tool": t, "ok": false, "code": n, "message": "..."}], "listChanged": n, "stderr": "..."}
// Exit 1 with a message on stderr when the server cannot be started or initialized.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const [configPath, serverName, callsJson] = process.argv.slice(2);
const calls = JSON.parse(callsJson ?? '[]');
let stderr = '';
const timer = setTimeout(() => {
  process.stderr.write(`guard-client: timed out\n${stderr}`);
  process.exit(1);
}, Number(process.env.SPAWN_TIMEOUT_MS || 30_000));
timer.unref();

try {
  const entry = JSON.parse(readFileSync(configPath, 'utf8')).mcpServers[serverName];
  const passNames = (process.env.SPAWN_PASS_ENV || '').split(/[\s,]+/).filter(Boolean);
  const env = getDefaultEnvironment();
  for (const name of passNames) if (process.env[name] !== undefined) env[name] = process.env[name];
  Object.assign(env, entry.env ?? {});
  const transport = new StdioClientTransport({ command: entry.command, args: entry.args ?? [], env, stderr: 'pipe' });
  transport.stderr?.on('data', (c) => {
    stderr += c.toString('utf8');
  });
  const client = new Client({ name: 'keybroker-guard-client', version: '1.0.0' });
  let listChanged = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    listChanged += 1;
  });
  await client.connect(transport);
  const tools = (await client.listTools()).tools.map((t) => t.name);
  const results = [];
  for (const { tool, args } of calls) {
    try {
      const res = await client.callTool({ name: tool, arguments: args ?? {} });
      const t = (res.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
      results.push({ tool, ok: !res.isError, text: t });
    } catch (e) {
      results.push({ tool, ok: false, code: e?.code ?? null, message: String(e?.message ?? e) });
    }
  }
  await client.close().catch(() => {});
  process.stdout.write(`${JSON.stringify({ tools, results, listChanged, stderr })}\n`, () => process.exit(0));
} catch (e) {
  process.stderr.write(`guard-client: ${e?.stack ?? e}\n${stderr}`, () => process.exit(1));
}
