// orval configuration for TestOrval: the fetch client, with path
// parameters URL-encoded (orval interpolates them raw by default, so a
// key holding "/", "%", "?" or "#" would name another URL) and every call
// going through orval-fetch.ts (base URL and bearer token).
// SPEC is the spec's URL or path.
export default {
  gateway: {
    input: { target: process.env.SPEC ?? "../openapi/openapi.json" },
    output: {
      target: "gen/orval/gateway.ts",
      client: "fetch",
      urlEncodeParameters: true,
      override: { mutator: { path: "./orval-fetch.ts", name: "gatewayFetch" } },
    },
  },
};
