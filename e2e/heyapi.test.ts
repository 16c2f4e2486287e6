// A script written against the SDK that @hey-api/openapi-ts generates
// from the gateway's /openapi.json (its fetch client, into gen/heyapi).
// tsc type-checks it with the generated types, then it runs against a
// live gateway; every value is checked at run time against what its
// static type claims, so a spec that lies about a reply fails here.
// Usage: GATEWAY_URL=http://127.0.0.1:PORT TOKEN=… node gen/out/heyapi.test.js
import { client } from "./gen/heyapi/client.gen.js";
import {
  addZsetMembers, getDbSize, getHash, getString, getStrings, getZsetMember, incrString,
  runCommand, runPipeline, runTransaction, setHash, setString, zrangeMembers,
} from "./gen/heyapi/sdk.gen.js";
import type { Problem, Score, ScoredMember } from "./gen/heyapi/types.gen.js";
import { check, finish, isScore, sameJSON } from "./scenario.js";

const baseUrl = process.env.GATEWAY_URL;
const token = process.env.TOKEN;
if (!baseUrl || !token) throw new Error("GATEWAY_URL and TOKEN must be set");
// the token goes through the generated security scheme (http bearer)
client.setConfig({ baseUrl, auth: () => token });
const db = "0";
const prefix = `heyapi:${process.pid}:`;

function codeOf(p: Problem | undefined): string | undefined {
  return p?.code;
}

async function main(): Promise<void> {
  const anon = await getDbSize({ path: { db }, auth: () => undefined, security: [] });
  check("401 without the token", anon.response?.status === 401 && codeOf(anon.error as Problem) === "UNAUTHORIZED", anon.error);

  for (const k of ["dir/naïve✓", "100%", "q?x#y", "sp ace+plus"]) {
    const key = prefix + k;
    const set = await setString({ path: { db, key }, body: { value: `v:${k}` } });
    check(`setString ${k}`, set.data?.set === true, set.error);
    const got = await getString({ path: { db, key } });
    const value = typeof got.data === "object" && got.data !== null && !(got.data instanceof Blob) ? got.data.value : undefined;
    check(`getString ${k}`, value === `v:${k}`, got.data ?? got.error);
    const exists = await runCommand({ path: { db }, body: { command: ["EXISTS", key] } });
    check(`the key is exactly ${k}`, exists.data?.result === 1, exists.data ?? exists.error);
  }

  const hkey = prefix + "hash";
  const hset = await setHash({ path: { db, key: hkey }, body: { fields: { name: "Ada", lang: "en" } } });
  check("setHash", hset.response?.status === 200, hset.error);
  const hget = await getHash({ path: { db, key: hkey } });
  check("getHash", hget.data?.fields.name === "Ada", hget.data ?? hget.error);

  const zkey = prefix + "zset";
  const zadd = await addZsetMembers({ path: { db, key: zkey }, body: { members: [{ member: "fine", score: 1234567.891 }, { member: "top", score: "+inf" }] } });
  check("addZsetMembers with +inf", zadd.response?.status === 200, zadd.error);
  const zr = await zrangeMembers({ path: { db, key: zkey }, query: { withscores: true } });
  const scored = (zr.data?.members ?? []) as ScoredMember[];
  check(
    "zrangeMembers withscores",
    scored.length === 2 && scored.every((m) => typeof m === "object" && isScore(m.score)) &&
      scored[0].score === 1234567.891 && scored[1].score === ("inf" satisfies Score),
    zr.data ?? zr.error,
  );
  const plain = await zrangeMembers({ path: { db, key: zkey }, query: { withscores: false } });
  check("zrangeMembers withscores=false", sameJSON(plain.data?.members, ["fine", "top"]), plain.data ?? plain.error);
  const zm = await getZsetMember({ path: { db, key: zkey, member: "top" } });
  check("getZsetMember inf", zm.data?.score === "inf" && zm.data.rank === 1, zm.data ?? zm.error);

  const ikey = prefix + "counter";
  const incr = await incrString({ path: { db, key: ikey }, body: { by: 16777217 } });
  check("incrString past 2^24", incr.data?.value === 16777217, incr.data ?? incr.error);

  const mget = await getStrings({ path: { db }, query: { key: [ikey, prefix + "absent"] } });
  const values: Array<string | null> = mget.data?.values ?? [];
  check("getStrings with a null", sameJSON(values, ["16777217", null]), mget.data ?? mget.error);

  const cases: Array<[string[], unknown]> = [
    [["SET", prefix + "s", "text"], true],
    [["GET", prefix + "s"], "text"],
    [["INCRBY", prefix + "n", "5"], 5],
    [["ZRANGE", zkey, "0", "-1"], ["fine", "top"]],
    [["HGETALL", hkey], { name: "Ada", lang: "en" }],
    [["GET", prefix + "absent"], null],
  ];
  for (const [command, want] of cases) {
    const r = await runCommand({ path: { db }, body: { command } });
    check(`runCommand ${command[0]} → ${JSON.stringify(want)}`, r.data !== undefined && sameJSON(r.data.result, want), r.data ?? r.error);
  }

  const pl = await runPipeline({ path: { db }, body: { commands: [["SET", prefix + "p", "1"], ["INCR", prefix + "p"], ["HGET", prefix + "p", "f"], ["GET", prefix + "absent"]] } });
  const res = pl.data?.results ?? [];
  check(
    "runPipeline",
    res.length === 4 && res[0].result === true && res[1].result === 2 && res[2].code === "WRONGTYPE" && res[3].result === null,
    pl.data ?? pl.error,
  );

  const tx = await runTransaction({ path: { db }, body: { watch: [prefix + "bal"], commands: [["INCRBY", prefix + "bal", "10"], ["GET", prefix + "bal"]] } });
  check("runTransaction", tx.data?.results[1].result === "10", tx.data ?? tx.error);

  const missing = await getString({ path: { db, key: prefix + "absent" } });
  check(
    "typed 404",
    missing.response?.status === 404 && missing.response?.headers.get("content-type") === "application/problem+json" && codeOf(missing.error) === "NOT_FOUND",
    missing.error,
  );
  const bad = await setString({ path: { db, key: prefix + "bad" }, body: { value: "x", ttl_ms: 0 } });
  check("typed validation 400", codeOf(bad.error) === "VALIDATION" && (bad.error?.errors ?? []).some((e) => e.field === "ttl_ms"), bad.error);
  const unknown = await getDbSize({ path: { db: "nope" } });
  check("typed 404 unknown database", codeOf(unknown.error) === "UNKNOWN_DATABASE", unknown.error);

  finish("hey-api");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
