// Drives testdata/multi.html in headless Chromium (Debian's, through
// playwright-core) against a live gateway with signed tokens:
//  - the page gets a minted token (keys and channels u:42:*, a TTL of a
//    few seconds) from its backend and opens ONE EventSource over three
//    channels and two streams with ?_token=;
//  - a message on each channel and an entry on each stream arrive on it;
//  - a channel outside the token's patterns is refused with 403 before
//    any stream opens (fetch from the page, which can read the status);
//  - its connection is cut, entries are added to both streams while it is
//    down, and after the browser reconnects on its own (Last-Event-ID
//    carrying both streams' positions) every entry has arrived exactly
//    once;
//  - when the token's TTL ends the stream ends with an `expired` event,
//    and the token is refused afterwards;
//  - the page mints a new token and opens a new EventSource with
//    last_event_id: the entries added since the expiry arrive, once.
// Env: PAGE_URL (the page; its origin serves POST /token, the page's
// backend), GATEWAY_URL (what the page talks to: a proxy the Go driver can
// cut), DIRECT_URL and ADMIN_TOKEN (the gateway itself, for publishing and
// XADD), DROP_URL (POST cuts every proxied connection).
import { env, launch } from "./harness.mjs";

const pageURL = env("PAGE_URL");
const gateway = env("GATEWAY_URL");
const direct = env("DIRECT_URL");
const admin = env("ADMIN_TOKEN");
const dropURL = env("DROP_URL");
const prefix = `u:42:${process.pid}-${Date.now()}:`;
const enc = encodeURIComponent;

async function post(path, body) {
  const res = await fetch(direct + path, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}
const publish = (ch, message) => post(`/db/0/channels/${enc(prefix + ch)}/messages`, { message });
const xadd = async (s, n) => (await post(`/db/0/streams/${enc(prefix + s)}`, { fields: { n } })).id;

const browser = await launch();
let failed = false;
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.log(`page: ${m.text()}`));
  page.on("pageerror", (e) => console.log(`page error: ${e}`));
  await page.goto(`${pageURL}?${new URLSearchParams({ gateway, prefix })}`);
  const rt = () => page.evaluate(() => window.rt);
  const waitFor = async (what, pred, arg, ms = 15000) => {
    await page.waitForFunction(pred, arg, { timeout: ms }).catch(async (e) => {
      throw new Error(`waiting for ${what}: ${e.message}; state ${JSON.stringify(await rt())}`);
    });
    console.log(`ok   ${what}`);
  };

  await page.evaluate(() => window.start());
  await waitFor("token minted by the backend, one EventSource open", () => window.rt.open === 1);

  // Subscriptions are confirmed before the headers go out, so these are
  // heard; the stream positions were fixed when the stream opened.
  for (const ch of ["a", "b", "c"]) await publish(ch, `hello ${ch}`);
  const want = { s1: [await xadd("s1", "1")], s2: [await xadd("s2", "1")] };
  await waitFor("a message from each of three channels and an entry from each of two streams",
    (p) => window.rt.messages.length === 3 &&
      ["s1", "s2"].every((s) => (window.rt.entries[p + s] || []).length === 1), prefix);
  const msgs = (await rt()).messages.sort();
  const wantMsgs = ["a", "b", "c"].map((c) => `${prefix}${c}=hello ${c}`);
  if (JSON.stringify(msgs) !== JSON.stringify(wantMsgs)) {
    throw new Error(`messages ${JSON.stringify(msgs)}, want ${JSON.stringify(wantMsgs)}`);
  }

  const refused = await page.evaluate(() => window.refuse("u:43:secret"));
  if (refused.status !== 403 || !refused.type.startsWith("application/problem+json") || !refused.body.includes("FORBIDDEN_CHANNEL")) {
    throw new Error(`a channel outside u:42:*: got ${JSON.stringify(refused)}, want a 403 FORBIDDEN_CHANNEL problem`);
  }
  console.log("ok   channel outside the token's patterns refused with 403 before the stream opened");

  // Cut the connection, add entries to both streams while it is down, and
  // let the browser reconnect by itself (retry: 1000 from the gateway).
  const before = (await rt()).errors;
  const dropped = await fetch(dropURL, { method: "POST" });
  if (!dropped.ok) throw new Error(`drop: ${dropped.status}`);
  await waitFor("connection cut", (n) => window.rt.errors > n, before);
  want.s1.push(await xadd("s1", "2"), await xadd("s1", "3"));
  want.s2.push(await xadd("s2", "2"));
  await waitFor("EventSource reconnected", () => window.rt.open >= 2);
  want.s1.push(await xadd("s1", "4"));
  want.s2.push(await xadd("s2", "3"));
  await waitFor("entries added while cut and after",
    (p) => (window.rt.entries[p + "s1"] || []).length >= 4 && (window.rt.entries[p + "s2"] || []).length >= 3, prefix);
  await new Promise((r) => setTimeout(r, 500)); // room for a duplicate to show up
  const got = (await rt()).entries;
  for (const s of ["s1", "s2"]) {
    if (JSON.stringify(got[prefix + s]) !== JSON.stringify(want[s])) {
      throw new Error(`stream ${s}: entries ${JSON.stringify(got[prefix + s])}, want each exactly once: ${JSON.stringify(want[s])}`);
    }
  }
  console.log("ok   every entry of both streams exactly once across the cut");

  const { expiresAt, token } = await rt();
  await waitFor("expired event at the token's exp", () => window.rt.expired !== null, undefined, 30000);
  const { expired } = await rt();
  if (new Date(expired) < new Date(expiresAt)) {
    throw new Error(`expired at ${expired}, before the token's expires_at ${expiresAt}`);
  }
  const after = await fetch(`${direct}/db/0/events?${new URLSearchParams({ channel: prefix + "a", _token: token })}`);
  if (after.status !== 401) throw new Error(`the expired token: got ${after.status}, want 401`);
  await after.body?.cancel();
  console.log("ok   expired token refused with 401");

  // The app's answer to expired: a fresh token and a new EventSource that
  // resumes both streams (last_event_id) after what the old one saw.
  want.s1.push(await xadd("s1", "5"));
  want.s2.push(await xadd("s2", "4"));
  const opens = (await rt()).open;
  await page.evaluate(() => window.reopen());
  await waitFor("new EventSource with a fresh token", (n) => window.rt.open > n, opens);
  want.s1.push(await xadd("s1", "6"));
  await waitFor("entries added since the expiry",
    (p) => window.rt.entries[p + "s1"].length >= 6 && window.rt.entries[p + "s2"].length >= 4, prefix);
  await new Promise((r) => setTimeout(r, 500)); // room for a duplicate to show up
  await page.evaluate(() => window.es.close());
  const resumed = (await rt()).entries;
  for (const s of ["s1", "s2"]) {
    if (JSON.stringify(resumed[prefix + s]) !== JSON.stringify(want[s])) {
      throw new Error(`stream ${s} after re-minting: entries ${JSON.stringify(resumed[prefix + s])}, want each exactly once: ${JSON.stringify(want[s])}`);
    }
  }
  console.log("ok   re-minted token resumed both streams, every entry exactly once");
  await page.screenshot({ path: process.env.SCREENSHOT || "gen/multi.png" });
  console.log("all multiplexed browser checks passed");
} catch (err) {
  failed = true;
  console.error(`FAIL ${err.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
