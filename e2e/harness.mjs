// Shared pieces of the Node.js checks.

// env returns a required environment variable, or throws naming it.
export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// launch starts Debian's headless Chromium (CHROMIUM overrides the path) with
// the flags every browser test here needs: no sandbox (root in CI), no GPU,
// no QUIC and no background traffic, so the only connections are the
// test's own.
export async function launch() {
  const { chromium } = await import("playwright-core"); // only the browser tests need it
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}
