#!/usr/bin/env node
// secret-echo: a real MCP stdio server (official TypeScript SDK) that tells a test what
// it received -- without ever revealing a value. Every answer is a SHA-256 digest, or
// "unset", or the list of env var NAMES; nothing here prints a value (stdout belongs to
// the protocol, and stderr only gets names and digests).
//
// Tools:
//   env_sha256 {name}   -> sha256 hex of process.env[name], or "unset"
//   arg_sha256 {index}  -> sha256 hex of process.argv.slice(2)[index], or "unset"
//   env_names {}        -> JSON array of all env var names present, sorted
//
// Optional start-up health check (for host health-check tests): with
// REQUIRE_ENV_SHA256="NAME=<hex>" the server exits with code 3 before connecting unless
// sha256(process.env[NAME]) equals <hex>.
import { createHash } from 'node:crypto';
import process from 'node:process';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const sha256 = (value) => createHash('sha256').update(value, 'utf8').digest('hex');
const digestOrUnset = (value) => (value === undefined ? 'unset' : sha256(value));
const text = (t) => ({ content: [{ type: 'text', text: t }] });

const requirement = process.env.REQUIRE_ENV_SHA256;
if (requirement !== undefined) {
  const eq = requirement.indexOf('=');
  const name = eq > 0 ? requirement.slice(0, eq) : '';
  const want = eq > 0 ? requirement.slice(eq + 1).trim().toLowerCase() : '';
  if (!name || !/^[0-9a-f]{64}$/.test(want)) {
    process.stderr.write('secret-echo: REQUIRE_ENV_SHA256 must be NAME=<64 hex digits>\n');
    process.exit(3);
  }
  const got = digestOrUnset(process.env[name]);
  if (got !== want) {
    process.stderr.write(
      `secret-echo: health check failed: env ${name} is ${got === 'unset' ? 'unset' : 'set to a different value'}\n`,
    );
    process.exit(3);
  }
}

const server = new McpServer({ name: 'secret-echo', version: '1.0.0' });

server.registerTool(
  'env_sha256',
  {
    description: 'SHA-256 (hex) of the value of an environment variable, or "unset"',
    inputSchema: { name: z.string().min(1) },
  },
  async ({ name }) => text(digestOrUnset(process.env[name])),
);

server.registerTool(
  'arg_sha256',
  {
    description: 'SHA-256 (hex) of the server\'s positional argument at index (after the script path), or "unset"',
    inputSchema: { index: z.number().int().min(0) },
  },
  async ({ index }) => text(digestOrUnset(process.argv.slice(2)[index])),
);

server.registerTool(
  'env_names',
  {
    description: 'Sorted JSON array of the names of all environment variables present',
    inputSchema: {},
  },
  async () => text(JSON.stringify(Object.keys(process.env).sort())),
);

await server.connect(new StdioServerTransport());
