// Launches Debian's headless Chromium (CHROMIUM overrides the path) with
// the flags every browser test here needs: no sandbox (root in CI), no GPU,
// no QUIC and no background traffic, so the only connections are the
// test's own.
import { chromium } from "playwright-core";

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}
