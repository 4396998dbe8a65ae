#!/usr/bin/env node
// Spawn one stdio MCP server from an mcpServers config file exactly as a host does, talk
// MCP to it with the official SDK client, and print what it answered.
//
//   node spawn-from-config.mjs <config-path> <server-name> [<tool> <json-args>]...
//
// Spawning mirrors Claude Desktop / the SDK: StdioClientTransport with the entry's
// command and args (no shell) and env = entry.env merged over the SDK's
// getDefaultEnvironment() (HOME, LOGNAME, PATH, SHELL, TERM, USER -- NOT the caller's
// whole environment; the SDK applies that same merge itself even when env is undefined).
// So a spawned `keybroker run` does NOT inherit DBUS_SESSION_BUS_ADDRESS, KEYBROKER_HOME,
// XDG_* etc. from this process. A test that needs them (a private session bus, a temp
// KEYBROKER_HOME) either puts them into the entry's env or lists their names in
//   SPAWN_PASS_ENV="DBUS_SESSION_BUS_ADDRESS KEYBROKER_HOME"   (space/comma separated)
// which adds those variables from this process's environment to the default
// environment (the entry's own env still wins) -- like a desktop session whose host
// process has them.
//
// Output on success (exit 0), one JSON object on stdout:
//   {"serverInfo": {...}, "results": {"<tool>": "<text>", ...}, "stderr": "<child stderr>"}
// A tool called more than once maps to an array of its texts, in call order.
// On any failure (spawn, initialize, tool error, 30 s timeout: SPAWN_TIMEOUT_MS) a clear
// message plus the child's captured stderr goes to stderr, and the exit code is 1.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';

const TIMEOUT_MS = Number(process.env.SPAWN_TIMEOUT_MS || 30_000);
const STDERR_CAP = 1 << 20;

let childStderr = '';
let childExit = null;
let transport = null;
let child = null;

function fail(message) {
  let out = `spawn-from-config: ERROR: ${message}\n`;
  if (childExit) out += `spawn-from-config: child exited: ${childExit}\n`;
  const captured = childStderr.replace(/\n$/, '');
  out += captured
    ? `spawn-from-config: child stderr:\n${captured.replace(/^/gm, '  | ')}\n`
    : 'spawn-from-config: child stderr: (empty)\n';
  // Never leave the server behind (the SDK's close() only escalates after seconds).
  try {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  } catch {
    // already gone
  }
  process.stderr.write(out, () => process.exit(1));
  setTimeout(() => process.exit(1), 1000).unref();
}

function usage(msg) {
  process.stderr.write(
    `spawn-from-config: ${msg}\nusage: node spawn-from-config.mjs <config-path> <server-name> [<tool> <json-args>]...\n`,
  );
  process.exit(1);
}

async function main() {
  const [configPath, serverName, ...rest] = process.argv.slice(2);
  if (!configPath || !serverName) usage('missing arguments');
  if (rest.length % 2 !== 0) usage('each <tool> needs a <json-args> argument');
  const calls = [];
  for (let i = 0; i < rest.length; i += 2) {
    let args;
    try {
      args = JSON.parse(rest[i + 1]);
    } catch (e) {
      usage(`arguments for tool ${rest[i]} are not JSON: ${e.message}`);
    }
    if (args === null || typeof args !== 'object' || Array.isArray(args)) usage(`arguments for tool ${rest[i]} must be a JSON object`);
    calls.push({ tool: rest[i], args });
  }

  let raw;
  try {
    raw = readFileSync(configPath, 'utf8');
  } catch (e) {
    return fail(`cannot read config ${configPath}: ${e.message}`);
  }
  if (raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
  let config;
  try {
    config = JSON.parse(raw);
  } catch (e) {
    return fail(`config ${configPath} is not valid JSON: ${e.message}`);
  }
  const entry = config?.mcpServers?.[serverName];
  if (!entry || typeof entry !== 'object') return fail(`no mcpServers["${serverName}"] in ${configPath}`);
  if (typeof entry.command !== 'string') return fail(`mcpServers["${serverName}"] has no "command" (not a stdio server)`);
  if (entry.args !== undefined && !(Array.isArray(entry.args) && entry.args.every((a) => typeof a === 'string'))) {
    return fail(`mcpServers["${serverName}"].args must be an array of strings`);
  }

  const passNames = (process.env.SPAWN_PASS_ENV || '').split(/[\s,]+/).filter(Boolean);
  const defaults = getDefaultEnvironment();
  for (const name of passNames) if (process.env[name] !== undefined) defaults[name] = process.env[name];
  const env = entry.env ? { ...defaults, ...entry.env } : passNames.length ? defaults : undefined;

  transport = new StdioClientTransport({ command: entry.command, args: entry.args ?? [], env, stderr: 'pipe' });
  transport.stderr?.on('data', (chunk) => {
    if (childStderr.length < STDERR_CAP) childStderr += chunk.toString('utf8');
  });
  // Record how the child ended (for error messages); the SDK does not expose it.
  const origStart = transport.start.bind(transport);
  transport.start = async () => {
    await origStart();
    child = transport._process ?? null;
    child?.once('exit', (code, signal) => {
      childExit = signal ? `signal ${signal}` : `code ${code}`;
    });
  };

  const client = new Client({ name: 'keybroker-spawn-from-config', version: '1.0.0' });
  try {
    await client.connect(transport);
  } catch (e) {
    return fail(`spawning/initializing "${serverName}" (${entry.command}) failed: ${e?.message ?? e}`);
  }

  const results = {};
  const counts = {};
  for (const { tool } of calls) counts[tool] = (counts[tool] ?? 0) + 1;
  for (const { tool, args } of calls) {
    let res;
    try {
      res = await client.callTool({ name: tool, arguments: args });
    } catch (e) {
      return fail(`tool ${tool} failed: ${e?.message ?? e}`);
    }
    const texts = (res.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
    if (res.isError) return fail(`tool ${tool} returned an error: ${texts}`);
    if (counts[tool] > 1) (results[tool] ??= []).push(texts);
    else results[tool] = texts;
  }

  const serverInfo = client.getServerVersion();
  await client.close().catch(() => {});
  process.stdout.write(`${JSON.stringify({ serverInfo, results, stderr: childStderr })}\n`, () => process.exit(0));
}

const timer = setTimeout(() => {
  fail(`timed out after ${TIMEOUT_MS} ms`);
}, TIMEOUT_MS);
timer.unref();
main().catch((e) => fail(e?.stack ?? String(e)));
