// A stand-in for the user's browser in tests: follows a sign-in URL printed by
// keybroker (on stderr) through the authorization server's redirects to the loopback
// callback, exactly as a browser would, without running any page script.
export async function followSignIn(url, { maxHops = 10 } = {}) {
  let current = new URL(url);
  for (let hop = 0; hop < maxHops; hop++) {
    const res = await fetch(current, { redirect: 'manual' });
    const location = res.headers.get('location');
    await res.arrayBuffer().catch(() => {});
    if (res.status >= 300 && res.status < 400 && location) {
      current = new URL(location, current);
      continue;
    }
    return { status: res.status, url: current.toString() };
  }
  throw new Error('too many redirects while following the sign-in URL');
}

// Watch a child's stderr; follow every sign-in URL it prints. Returns a promise list.
export function followPrintedUrls(stream, onLine = () => {}) {
  const pending = [];
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      onLine(line);
      if (/^https?:\/\//.test(line)) pending.push(followSignIn(line).catch((e) => ({ error: String(e) })));
    }
  });
  return pending;
}
