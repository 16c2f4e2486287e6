// Runs the official @upstash/redis client, unchanged, against the gateway's
// Upstash-compatible surface, in the four combinations of auto-pipelining
// and base64 response encoding.
// Env: GATEWAY_URL (…/upstash/0), TOKEN (write level), READ_TOKEN (read
// level).
import { Redis, errors } from "@upstash/redis";
import { env } from "./harness.mjs";

const url = env("GATEWAY_URL");
const token = env("TOKEN");
const readToken = env("READ_TOKEN");

let failures = 0;
function check(name, ok, detail) {
  if (ok) {
    console.log(`ok   ${name}`);
  } else {
    failures++;
    console.log(`FAIL ${name}: ${JSON.stringify(detail)}`);
  }
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
async function rejects(p) {
  try {
    await p;
    return null;
  } catch (err) {
    return err;
  }
}

async function suite(opts) {
  const tag = `auto=${opts.enableAutoPipelining} b64=${opts.responseEncoding}`;
  const redis = new Redis({ url, token, enableTelemetry: false, ...opts });
  const p = `up:${process.pid}:${opts.enableAutoPipelining ? "a" : "n"}${opts.responseEncoding ? "b" : "t"}:`;
  const t = (name) => `${tag} ${name}`;

  // Strings: numbers, JSON objects, unicode, awkward text.
  await redis.set(`${p}n`, 42);
  check(t("number round trip"), (await redis.get(`${p}n`)) === 42, await redis.get(`${p}n`));
  const obj = { a: 1, b: ["x", null], c: "ü" };
  await redis.set(`${p}obj`, obj);
  check(t("object round trip"), same(await redis.get(`${p}obj`), obj), await redis.get(`${p}obj`));
  const uni = "héllo wörld ✓ 🔑 \u0000 \\ \" ,comma";
  await redis.set(`${p}uni`, uni);
  check(t("unicode round trip"), (await redis.get(`${p}uni`)) === uni, await redis.get(`${p}uni`));
  const binaryish = "\u0001\u0002\u00ff\u00fe";
  await redis.set(`${p}bin`, binaryish);
  check(t("binary-ish round trip"), (await redis.get(`${p}bin`)) === binaryish, await redis.get(`${p}bin`));
  check(t("missing key is null"), (await redis.get(`${p}absent`)) === null, null);
  const setNX = await redis.set(`${p}n`, 1, { nx: true });
  check(t("set nx on existing key"), setNX === null, setNX);

  // Counters and expiry.
  check(t("incr"), (await redis.incr(`${p}ctr`)) === 1, null);
  const f = await redis.incrbyfloat(`${p}ctr`, 1.5);
  check(t("incrbyfloat"), f === 2.5, f);
  await redis.expire(`${p}ctr`, 100);
  const ttl = await redis.ttl(`${p}ctr`);
  check(t("expire/ttl"), ttl > 90 && ttl <= 100, ttl);

  // Hashes, lists, sets, sorted sets.
  await redis.hset(`${p}h`, { name: "Ada", year: 1815, meta: { x: 1 } });
  const h = await redis.hgetall(`${p}h`);
  check(t("hgetall"), h && h.name === "Ada" && h.year === 1815 && same(h.meta, { x: 1 }), h);
  await redis.rpush(`${p}l`, "a", "b", "c");
  check(t("lrange"), same(await redis.lrange(`${p}l`, 0, -1), ["a", "b", "c"]), null);
  await redis.sadd(`${p}s`, "x", "y");
  const members = (await redis.smembers(`${p}s`)).sort();
  check(t("smembers"), same(members, ["x", "y"]), members);
  await redis.zadd(`${p}z`, { score: 2, member: "b" }, { score: 1.5, member: "a" });
  const zr = await redis.zrange(`${p}z`, 0, -1, { withScores: true });
  check(t("zrange withScores"), same(zr, ["a", 1.5, "b", 2]), zr);
  const zs = await redis.zscore(`${p}z`, "a");
  check(t("zscore"), zs === 1.5, zs);

  // Streams: XREAD and XREADGROUP answer [[stream, [[id, [field, value…]]…]]…],
  // one pair per stream, as Redis's RESP2 does (COUNT 3 gives 3 entries).
  const x1 = `${p}x1`, x2 = `${p}x2`;
  for (const [k, id, v] of [[x1, "1-1", "v1"], [x1, "2-1", "v2"], [x1, "3-1", "v3"], [x1, "4-1", "v4"], [x2, "1-2", "w1"], [x2, "2-2", "w2"]]) {
    await redis.xadd(k, id, { f: v });
  }
  const e = (id, v) => [id, ["f", v]];
  const xr = await redis.xread(x1, "0-0", { count: 3 });
  check(t("xread one stream, count 3"), same(xr, [[x1, [e("1-1", "v1"), e("2-1", "v2"), e("3-1", "v3")]]]), xr);
  const xr2 = await redis.xread([x1, x2], ["0-0", "0-0"], { count: 2 });
  check(t("xread two streams, count 2"), same(xr2, [[x1, [e("1-1", "v1"), e("2-1", "v2")]], [x2, [e("1-2", "w1"), e("2-2", "w2")]]]), xr2);
  await redis.xgroup(x1, { type: "CREATE", group: "g", id: "0" });
  const xg = await redis.xreadgroup("g", "c", x1, ">", { count: 3 });
  check(t("xreadgroup one stream, count 3"), same(xg, [[x1, [e("1-1", "v1"), e("2-1", "v2"), e("3-1", "v3")]]]), xg);
  await redis.xgroup(x1, { type: "CREATE", group: "g2", id: "0" });
  await redis.xgroup(x2, { type: "CREATE", group: "g2", id: "0" });
  const xg2 = await redis.xreadgroup("g2", "c", [x1, x2], [">", ">"], { count: 1 });
  check(t("xreadgroup two streams, count 1"), same(xg2, [[x1, [e("1-1", "v1")]], [x2, [e("1-2", "w1")]]]), xg2);

  // GEOSEARCHSTORE, then the stored scores exactly as Redis formats them
  // (integral geohashes, distances), read without deserialization.
  const plain = new Redis({ url, token, enableTelemetry: false, ...opts, automaticDeserialization: false });
  await redis.geoadd(`${p}geo`, { longitude: 13.361389, latitude: 38.115556, member: "Palermo" }, { longitude: 15.087269, latitude: 37.502669, member: "Catania" });
  const center = { type: "FROMLONLAT", coordinate: { lon: 15, lat: 37 } };
  const radius = { type: "BYRADIUS", radius: 200, radiusType: "KM" };
  const stored = await redis.geosearchstore(`${p}gh`, `${p}geo`, center, radius, "ASC");
  const gh = await plain.zrange(`${p}gh`, 0, -1, { withScores: true });
  check(t("geosearchstore + zrange withScores (geohashes)"), stored === 2 && same(gh, ["Palermo", "3479099956230698", "Catania", "3479447370796909"]), gh);
  await redis.geosearchstore(`${p}gd`, `${p}geo`, center, radius, "ASC", { storeDist: true });
  const gd = await plain.zrange(`${p}gd`, 0, -1, { withScores: true });
  check(t("geosearchstore storeDist + zrange withScores"), same(gd, ["Catania", "56.441257870158204", "Palermo", "190.44242984775784"]), gd);

  // readYourWrites (on by default): every response carries a sync token,
  // larger after each write, which the client sends back with the next.
  const tok0 = Number(redis.readYourWritesSyncToken || 0);
  await redis.set(`${p}ryw`, "first");
  const tok1 = Number(redis.readYourWritesSyncToken);
  await redis.set(`${p}ryw`, "second");
  const tok2 = Number(redis.readYourWritesSyncToken);
  const ryw = await redis.get(`${p}ryw`);
  const tok3 = Number(redis.readYourWritesSyncToken);
  check(t("readYourWrites sync tokens"), tok1 > tok0 && tok2 > tok1 && tok3 >= tok2 && ryw === "second", { tok0, tok1, tok2, tok3, ryw });
  const session = new Redis({ url, token, enableTelemetry: false, ...opts });
  session.readYourWritesSyncToken = String(tok3);
  check(t("readYourWrites token handed to another client"), (await session.get(`${p}ryw`)) === "second" && Number(session.readYourWritesSyncToken) >= tok3, session.readYourWritesSyncToken);

  // Scan.
  let cursor = "0";
  const seen = new Set();
  do {
    const [next, keys] = await redis.scan(cursor, { match: `${p}*`, count: 100 });
    cursor = String(next);
    keys.forEach((k) => seen.add(k));
  } while (cursor !== "0");
  check(t("scan"), seen.has(`${p}h`) && seen.has(`${p}z`) && seen.has(`${p}uni`), [...seen]);

  // Pipeline with a failing command.
  const pl = redis.pipeline();
  pl.set(`${p}pl`, "v");
  pl.hget(`${p}pl`, "f");
  pl.get(`${p}pl`);
  const plErr = await rejects(pl.exec());
  check(t("pipeline failure surfaces"), plErr && /WRONGTYPE/.test(plErr.message), plErr?.message);
  const pl2 = redis.pipeline();
  pl2.set(`${p}pl`, "v");
  pl2.hget(`${p}pl`, "f");
  pl2.get(`${p}pl`);
  const kept = await pl2.exec({ keepErrors: true });
  check(t("pipeline keepErrors"),
    kept.length === 3 && kept[0].result === "OK" && /WRONGTYPE/.test(kept[1].error) && kept[2].result === "v", kept);

  // Transactions, several at once (each on its own connection).
  const txs = await Promise.all([1, 2, 3, 4, 5].map(async (i) => {
    const tx = redis.multi();
    tx.set(`${p}tx${i}`, i);
    tx.incr(`${p}tx${i}`);
    tx.get(`${p}tx${i}`);
    return tx.exec();
  }));
  check(t("concurrent multi/exec"), txs.every((r, i) => same(r, ["OK", i + 2, i + 2])), txs);

  // Scripts through EVALSHA with the NOSCRIPT fallback to EVAL, including
  // one written for Upstash with its allow-key-locking shebang flag.
  const script = redis.createScript(`return {KEYS[1], ARGV[1], redis.call("INCR", KEYS[1])}`);
  const r1 = await script.exec([`${p}sc`], ["arg"]);
  const r2 = await script.exec([`${p}sc`], ["arg"]);
  check(t("createScript (EVAL then EVALSHA)"), same(r1, [`${p}sc`, "arg", 1]) && same(r2, [`${p}sc`, "arg", 2]), [r1, r2]);
  const locking = redis.createScript(`#!lua flags=allow-key-locking\nreturn redis.call("INCRBY", KEYS[1], ARGV[1])`);
  const l1 = await locking.exec([`${p}lk`], ["5"]);
  const l2 = await locking.exec([`${p}lk`], ["5"]);
  check(t("script with #!lua flags=allow-key-locking"), l1 === 5 && l2 === 10, [l1, l2]);
  // A write token's script is contained by its Redis ACL user: it may
  // write keys, not flush the server or leave its database.
  for (const escape of ["return redis.call('FLUSHALL')", "redis.call('SELECT','1') return redis.call('SET','x','1')"]) {
    const escErr = await rejects(redis.eval(escape, [], []));
    check(t(`script escape refused: ${escape}`), escErr instanceof errors.UpstashError && /can't run this command/.test(escErr.message), escErr?.message);
  }
  check(t("refused scripts changed nothing"), (await redis.get(`${p}lk`)) === 10, null);

  // Subscribe receives a publish.
  const ch = `${p}chan`;
  const sub = redis.subscribe([ch]);
  const got = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message within 10s")), 10000);
    sub.on("message", (m) => {
      clearTimeout(timer);
      resolve(m);
    });
  });
  await new Promise((resolve) => sub.on("subscribe", resolve));
  const receivers = await redis.publish(ch, { hello: "world" });
  const msg = await got.catch((e) => e);
  check(t("subscribe receives publish"), receivers === 1 && msg.channel === ch && same(msg.message, { hello: "world" }), { receivers, msg: String(msg?.message ?? msg) });
  await sub.unsubscribe();

  // A wrong token is an UpstashError (401).
  const bad = new Redis({ url, token: "wrong", enableTelemetry: false, ...opts });
  const badErr = await rejects(bad.get(`${p}n`));
  check(t("wrong token"), badErr instanceof errors.UpstashError && /Unauthorized/.test(badErr.message), badErr?.message);

  // A read-only token reads but may not write.
  const ro = new Redis({ url, token: readToken, enableTelemetry: false, ...opts });
  check(t("read-only token reads"), (await ro.get(`${p}n`)) === 42, null);
  const roErr = await rejects(ro.set(`${p}n`, 1));
  check(t("read-only token refused a write"), roErr instanceof errors.UpstashError && /NOPERM/.test(roErr.message), roErr?.message);
  check(t("refused write changed nothing"), (await redis.get(`${p}n`)) === 42, null);
}

for (const enableAutoPipelining of [true, false]) {
  for (const responseEncoding of [true, false]) {
    await suite({ enableAutoPipelining, responseEncoding });
  }
}
if (failures > 0) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log("all @upstash/redis checks passed");
