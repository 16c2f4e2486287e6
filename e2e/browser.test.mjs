// Drives testdata/page.html in headless Chromium (Debian's, through
// playwright-core) against a live gateway:
//  - an EventSource and a WebSocket on a channel both receive a message
//    published over HTTP;
//  - a stream tail (EventSource) receives an entry, its connection is
//    dropped, an entry is added while it is down, and after the browser
//    reconnects on its own (sending Last-Event-ID) every entry has arrived
//    exactly once.
// Env: PAGE_URL (the page), GATEWAY_URL (what the page talks to: a proxy
// the Go driver can cut), DIRECT_URL (the gateway itself, for writes),
// DROP_URL (POST cuts every proxied connection).
import { env, launch } from "./harness.mjs";

const pageURL = env("PAGE_URL");
const gateway = env("GATEWAY_URL");
const direct = env("DIRECT_URL");
const dropURL = env("DROP_URL");
const run = `${process.pid}-${Date.now()}`;
const channel = `browser:${run}`;
const stream = `browser:stream:${run}`;

async function post(path, body) {
  const res = await fetch(direct + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.log(`page: ${m.text()}`));
  page.on("pageerror", (e) => console.log(`page error: ${e}`));
  const q = new URLSearchParams({ gateway, channel, stream });
  await page.goto(`${pageURL}?${q}`);
  const rt = () => page.evaluate(() => window.rt);
  const waitFor = async (what, pred, ms = 15000) => {
    await page.waitForFunction(pred, undefined, { timeout: ms }).catch(async (e) => {
      throw new Error(`waiting for ${what}: ${e.message}; state ${JSON.stringify(await rt())}`);
    });
    console.log(`ok   ${what}`);
  };

  await waitFor("EventSource, WebSocket and tail open",
    () => window.rt.sseOpen && window.rt.wsSubscribed && window.rt.tailOpen === 1);

  // SSE subscription confirmed by the gateway before it sends headers, and
  // the WebSocket's subscribe result likewise: one publish reaches both.
  const pub = await post(`/db/0/channels/${encodeURIComponent(channel)}/messages`, { message: "héllo from HTTP" });
  if (pub.receivers !== 1) throw new Error(`publish reached ${pub.receivers} Redis subscribers, want 1 (one shared connection)`);
  await waitFor("message on EventSource and WebSocket",
    () => window.rt.sseMessages.includes("héllo from HTTP") && window.rt.wsMessages.includes("héllo from HTTP"));

  const sp = `/db/0/streams/${encodeURIComponent(stream)}`;
  const e1 = (await post(sp, { fields: { n: "1" } })).id;
  await waitFor("first entry", () => window.rt.entries.length === 1);

  // Cut the connections, add an entry while the tail is down, and let the
  // browser reconnect by itself.
  const before = (await rt()).tailErrors;
  const dropped = await fetch(dropURL, { method: "POST" });
  if (!dropped.ok) throw new Error(`drop: ${dropped.status}`);
  await page.waitForFunction((n) => window.rt.tailErrors > n, before, { timeout: 15000 });
  console.log("ok   tail connection dropped");
  const e2 = (await post(sp, { fields: { n: "2" } })).id;
  await waitFor("tail reconnected", () => window.rt.tailOpen >= 2);
  const e3 = (await post(sp, { fields: { n: "3" } })).id;
  await waitFor("entries after reconnect", () => window.rt.entries.length >= 3);
  await new Promise((r) => setTimeout(r, 500)); // room for a duplicate to show up
  const got = (await rt()).entries;
  const want = [e1, e2, e3];
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`stream entries ${JSON.stringify(got)}, want each exactly once: ${JSON.stringify(want)}`);
  }
  console.log("ok   every entry exactly once across the reconnect");
  await page.screenshot({ path: process.env.SCREENSHOT || "gen/browser.png" });
} catch (err) {
  failed = true;
  console.error(`FAIL ${err.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
