// The fetch function the orval client calls (orval.config.mjs names it as
// its mutator): it resolves the generated relative URLs against
// GATEWAY_URL and sends the bearer token the spec's BearerAuth scheme
// describes. An operation that takes JSON or octet-stream (setString,
// publishMessage) gets its body from orval as it was passed, so an object
// is sent here as JSON. It returns what orval's fetch client returns: the
// status, the decoded JSON (or text) body and the headers.
export type GatewayRequestInit = Omit<RequestInit, "body"> & { body?: BodyInit | object | null };

export const gatewayFetch = async <T>(url: string, options: GatewayRequestInit): Promise<T> => {
  const headers = new Headers(options.headers);
  const token = process.env.TOKEN;
  if (token && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${token}`);
  let body = options.body as BodyInit | null | undefined;
  const raw = [Blob, ArrayBuffer, URLSearchParams, FormData, ReadableStream].some((t) => body instanceof t) || ArrayBuffer.isView(body);
  if (body != null && typeof body === "object" && !raw) {
    body = JSON.stringify(body);
    headers.set("Content-Type", "application/json");
  }
  const res = await fetch(new URL(url, process.env.GATEWAY_URL), { ...options, headers, body });
  const text = [204, 205, 304].includes(res.status) ? "" : await res.text();
  const type = res.headers.get("content-type") ?? "";
  const data = type.includes("json") && text !== "" ? JSON.parse(text) : text;
  return { data, status: res.status, headers: res.headers } as T;
};
