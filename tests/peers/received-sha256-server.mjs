#!/usr/bin/env node
// received-sha256: the secret-echo server (secret-echo-server.mjs, official MCP SDK) that
// first writes down, for a test, the SHA-256 of what it received -- never the value.
//
// With REQUIRE_ENV_SHA256="NAME=<hex>" and RECEIVED_SHA256_FILE=<path>, every start
// appends one line `<sha256 hex of process.env[NAME]>` (or `unset`) to <path>, then runs
// the secret-echo server, which exits with code 3 before connecting unless the digest is
// <hex>. A real host that reports this server connected therefore started it with the
// right secret, and the file shows what each start received.
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import process from 'node:process';

const requirement = process.env.REQUIRE_ENV_SHA256 ?? '';
const report = process.env.RECEIVED_SHA256_FILE;
const eq = requirement.indexOf('=');
if (report && eq > 0) {
  const value = process.env[requirement.slice(0, eq)];
  const digest =
    value === undefined ? 'unset' : createHash('sha256').update(value, 'utf8').digest('hex');
  appendFileSync(report, `${digest}\n`);
}

await import('./secret-echo-server.mjs');
