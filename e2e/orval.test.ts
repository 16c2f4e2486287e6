// A script written against the fetch client that orval generates from the
// gateway's /openapi.json (orval.config.mjs, into gen/orval). tsc
// type-checks it with the generated types, then it runs against a live
// gateway; each reply is narrowed by its status, as orval's response
// unions are meant to be used.
// Usage: GATEWAY_URL=http://127.0.0.1:PORT TOKEN=… node gen/out/orval.test.js
import {
  addZsetMembers, getDBSize, getHash, getString, getStrings, getZsetMember, incrString,
  runCommand, runPipeline, runTransaction, setHash, setString, zrangeMembers,
} from "./gen/orval/gateway.js";
import type { ScoredMember } from "./gen/orval/gateway.js";
import { check, finish, isScore, sameJSON } from "./scenario.js";

if (!process.env.GATEWAY_URL || !process.env.TOKEN) throw new Error("GATEWAY_URL and TOKEN must be set");
const db = "0";
const prefix = `orval:${process.pid}:`;

async function main(): Promise<void> {
  const anon = await getDBSize(db, { headers: { Authorization: "Bearer wrong-token" } });
  check("401 with a wrong token", anon.status === 401 && anon.data.code === "UNAUTHORIZED", anon.data);

  for (const k of ["dir/naïve✓", "100%", "q?x#y", "sp ace+plus"]) {
    const key = prefix + k;
    const set = await setString(key, { value: `v:${k}` }, undefined, db);
    check(`setString ${k}`, set.status === 200 && set.data.set === true, set.data);
    const got = await getString(key, undefined, db);
    check(`getString ${k}`, got.status === 200 && !(got.data instanceof Blob) && got.data.value === `v:${k}`, got.data);
    const exists = await runCommand({ command: ["EXISTS", key] }, undefined, db);
    check(`the key is exactly ${k}`, exists.status === 200 && exists.data.result === 1, exists.data);
  }

  const hkey = prefix + "hash";
  const hset = await setHash(hkey, { fields: { name: "Ada", lang: "en" } }, undefined, db);
  check("setHash", hset.status === 200, hset.data);
  const hget = await getHash(hkey, undefined, db);
  check("getHash", hget.status === 200 && hget.data.fields.name === "Ada", hget.data);

  const zkey = prefix + "zset";
  const zadd = await addZsetMembers(zkey, { members: [{ member: "fine", score: 1234567.891 }, { member: "top", score: "+inf" }] }, undefined, db);
  check("addZsetMembers with +inf", zadd.status === 200, zadd.data);
  const zr = await zrangeMembers(zkey, { withscores: true }, db);
  const scored = zr.status === 200 ? (zr.data.members as ScoredMember[]) : [];
  check(
    "zrangeMembers withscores",
    scored.length === 2 && scored.every((m) => isScore(m.score)) && scored[0].score === 1234567.891 && scored[1].score === "inf",
    zr.data,
  );
  const plain = await zrangeMembers(zkey, { withscores: false }, db);
  check("zrangeMembers withscores=false", plain.status === 200 && sameJSON(plain.data.members, ["fine", "top"]), plain.data);
  const zm = await getZsetMember(zkey, "top", undefined, db);
  check("getZsetMember inf", zm.status === 200 && zm.data.score === "inf" && zm.data.rank === 1, zm.data);

  const ikey = prefix + "counter";
  const incr = await incrString(ikey, { by: 16777217 }, undefined, db);
  check("incrString past 2^24", incr.status === 200 && incr.data.value === 16777217, incr.data);

  const mget = await getStrings({ key: [ikey, prefix + "absent"] }, db);
  check("getStrings with a null", mget.status === 200 && sameJSON(mget.data.values, ["16777217", null]), mget.data);

  const cases: Array<[string[], unknown]> = [
    [["SET", prefix + "s", "text"], true],
    [["GET", prefix + "s"], "text"],
    [["INCRBY", prefix + "n", "5"], 5],
    [["ZRANGE", zkey, "0", "-1"], ["fine", "top"]],
    [["HGETALL", hkey], { name: "Ada", lang: "en" }],
    [["GET", prefix + "absent"], null],
  ];
  for (const [command, want] of cases) {
    const r = await runCommand({ command }, undefined, db);
    check(`runCommand ${command[0]} → ${JSON.stringify(want)}`, r.status === 200 && sameJSON(r.data.result, want), r.data);
  }

  const pl = await runPipeline({ commands: [["SET", prefix + "p", "1"], ["INCR", prefix + "p"], ["HGET", prefix + "p", "f"], ["GET", prefix + "absent"]] }, undefined, db);
  const res = pl.status === 200 ? pl.data.results : [];
  check("runPipeline", res.length === 4 && res[0].result === true && res[1].result === 2 && res[2].code === "WRONGTYPE" && res[3].result === null, pl.data);

  const tx = await runTransaction({ watch: [prefix + "bal"], commands: [["INCRBY", prefix + "bal", "10"], ["GET", prefix + "bal"]] }, undefined, db);
  check("runTransaction", tx.status === 200 && tx.data.results[1].result === "10", tx.data);

  const missing = await getString(prefix + "absent", undefined, db);
  check(
    "typed 404",
    missing.status === 404 && missing.headers.get("content-type") === "application/problem+json" && missing.data.code === "NOT_FOUND",
    missing.data,
  );
  const bad = await setString(prefix + "bad", { value: "x", ttl_ms: 0 }, undefined, db);
  check("typed validation 400", bad.status === 400 && bad.data.code === "VALIDATION" && (bad.data.errors ?? []).some((e) => e.field === "ttl_ms"), bad.data);
  const unknown = await getDBSize("nope");
  check("typed 404 unknown database", unknown.status === 404 && unknown.data.code === "UNKNOWN_DATABASE", unknown.data);

  finish("orval");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
