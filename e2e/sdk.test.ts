// A script written against the TypeScript SDK generated from the gateway's
// /openapi.json (openapi-typescript for the types, openapi-fetch for the
// calls). `tsc` type-checks it against the generated schema, so a renamed
// operation, parameter or field in the spec breaks the build here, the way
// it would break a user's code; then it runs against a live gateway.
// Usage: GATEWAY_URL=http://127.0.0.1:PORT node gen/out/sdk.test.js
import createClient from "openapi-fetch";
import type { paths } from "./gen/schema.js";

const baseUrl = process.env.GATEWAY_URL;
if (!baseUrl) throw new Error("GATEWAY_URL is not set");
const api = createClient<paths>({ baseUrl });
const prefix = `sdk:${process.pid}:`;
let failures = 0;

function check(name: string, ok: boolean, detail: unknown): void {
  if (ok) {
    console.log(`ok   ${name}`);
  } else {
    failures++;
    console.log(`FAIL ${name}: ${JSON.stringify(detail)}`);
  }
}

async function main(): Promise<void> {
  const db = "0";

  // Strings: set, then get; a key with a slash and unicode stays one key.
  const key = `${prefix}str/ü ?#`;
  const put = await api.PUT("/db/{db}/strings/{key}", {
    params: { path: { db, key } },
    body: { value: "hello, wörld" },
  });
  check("setString", put.response.status === 200 && put.data?.set === true, put.data ?? put.error);
  const got = await api.GET("/db/{db}/strings/{key}", { params: { path: { db, key } } });
  // 200 is JSON or, with Accept: application/octet-stream, the raw bytes
  const gotValue = typeof got.data === "object" ? got.data.value : undefined;
  check("getString", gotValue === "hello, wörld", got.data ?? got.error);

  // Hashes.
  const hkey = `${prefix}hash`;
  const hset = await api.PUT("/db/{db}/hashes/{key}", {
    params: { path: { db, key: hkey } },
    body: { fields: { name: "Ada", lang: "en" } },
  });
  check("setHash", hset.response.status === 200, hset.error);
  const hget = await api.GET("/db/{db}/hashes/{key}", { params: { path: { db, key: hkey } } });
  check(
    "getHash",
    hget.data?.fields?.name === "Ada" && hget.data?.fields?.lang === "en",
    hget.data ?? hget.error,
  );

  // Sorted sets with scores come back as [{member, score}].
  const zkey = `${prefix}zset`;
  const zadd = await api.POST("/db/{db}/zsets/{key}/members", {
    params: { path: { db, key: zkey } },
    body: { members: [{ member: "bob", score: 2 }, { member: "alice", score: 1.5 }] },
  });
  check("addZsetMembers", zadd.response.status === 200, zadd.data ?? zadd.error);
  const zr = await api.GET("/db/{db}/zsets/{key}", {
    params: { path: { db, key: zkey }, query: { withscores: true } },
  });
  // withscores=true gives {member, score} objects, false plain strings
  const members = (zr.data?.members ?? []).map((m) => (typeof m === "string" ? { member: m, score: undefined } : m));
  check(
    "zrangeMembers withscores",
    members.length === 2 &&
      members[0].member === "alice" && members[0].score === 1.5 &&
      members[1].member === "bob" && members[1].score === 2,
    zr.data ?? zr.error,
  );

  // Pipeline: results in order, a failing command reported in place.
  const pl = await api.POST("/db/{db}/pipeline", {
    params: { path: { db } },
    body: { commands: [["SET", `${prefix}p`, "1"], ["INCR", `${prefix}p`], ["HGET", `${prefix}p`, "f"]] },
  });
  const results = pl.data?.results ?? [];
  check(
    "runPipeline",
    results.length === 3 &&
      (results[1].result as unknown) === 2 &&
      results[2].code === "WRONGTYPE",
    pl.data ?? pl.error,
  );

  // A missing key is a typed 404 problem.
  const missing = await api.GET("/db/{db}/strings/{key}", {
    params: { path: { db, key: `${prefix}absent` } },
  });
  check(
    "404 problem",
    missing.response.status === 404 &&
      missing.response.headers.get("content-type") === "application/problem+json" &&
      missing.error?.code === "NOT_FOUND",
    missing.error,
  );

  // A validation error names the JSON field.
  const bad = await api.PUT("/db/{db}/strings/{key}", {
    params: { path: { db, key: `${prefix}bad` } },
    body: { value: "x", ttl_ms: 0 },
  });
  check(
    "validation problem",
    bad.response.status === 400 &&
      bad.error?.code === "VALIDATION" &&
      (bad.error?.errors ?? []).some((e) => e.field === "ttl_ms"),
    bad.error,
  );

  // An unknown database.
  const unknown = await api.GET("/db/{db}/dbsize", { params: { path: { db: "nope" } } });
  check("unknown database", unknown.response.status === 404, unknown.error);

  if (failures > 0) {
    console.log(`${failures} check(s) failed`);
    process.exit(1);
  }
  console.log("all SDK checks passed");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
