// Complete package-lock.json with an entry for every optional platform package that a
// pinned CLI names but the registry does not serve at that version (npm then leaves it out
// of the lock, and `npm ci` refuses the lock as out of sync with package.json). Each
// entry gets the os/cpu/libc its name says, so npm skips it on other platforms, and is
// optional, so a platform that matches only warns. Run by `scripts/install-hosts.sh --lock`.
import { readFileSync, writeFileSync } from 'node:fs';
const file = process.argv[2];
const lock = JSON.parse(readFileSync(file, 'utf8'));
const pk = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(pk)) {
  for (const [name, range] of Object.entries(meta.optionalDependencies ?? {})) {
    const nested = `${path}/node_modules/${name}`;
    if (pk[nested] || pk[`node_modules/${name}`]) continue;
    const os = /darwin/.test(name) ? 'darwin' : /win32|windows/.test(name) ? 'win32' : /linux/.test(name) ? 'linux' : null;
    const cpu = /arm64|aarch64/.test(name) ? 'arm64' : /x64/.test(name) ? 'x64' : /ia32/.test(name) ? 'ia32' : /arm/.test(name) ? 'arm' : null;
    if (!os || !cpu) { console.error(`cannot place ${name} (${path})`); process.exitCode = 1; continue; }
    const entry = { version: range, optional: true, os: [os], cpu: [cpu] };
    if (os === 'linux') entry.libc = [/musl/.test(name) ? 'musl' : 'glibc'];
    pk[`node_modules/${name}`] = entry;
    added++;
  }
}
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.error(`added ${added} entries`);
