// Helpers shared by the generated-SDK scripts (heyapi.test.ts,
// orval.test.ts): a check that counts failures, and run-time checks of
// the values the generated static types promise.
let failures = 0;

/** check records one outcome and prints it. */
export function check(name: string, ok: boolean, detail: unknown): void {
  if (ok) {
    console.log(`ok   ${name}`);
  } else {
    failures++;
    console.log(`FAIL ${name}: ${JSON.stringify(detail)}`);
  }
}

/** finish exits non-zero when a check failed. */
export function finish(generator: string): void {
  if (failures > 0) {
    console.log(`${failures} check(s) failed`);
    process.exit(1);
  }
  console.log(`all ${generator} checks passed`);
}

/** isScore: a number, or one of the strings the spec's Score allows. */
export function isScore(v: unknown): boolean {
  return typeof v === "number" || v === "inf" || v === "-inf" || v === "nan";
}

/** sameJSON compares two values by their JSON text, object keys sorted. */
export function sameJSON(a: unknown, b: unknown): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sorted(x)]));
  }
  return v;
}
