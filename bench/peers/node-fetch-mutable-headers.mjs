// Loaded with `node --import` before @portkey-ai/gateway. Why: on Node, @hono/node-server replaces the global
// Response with a lightweight one; `new Response(stream, fetchResponse)` then keeps the fetched response's own
// Headers object, whose guard is "immutable", and the gateway's updateHeaders() appends to it while answering a
// streamed chat: "TypeError: immutable", and the client gets {"status":"failure","message":"Something went wrong"}.
// Re-wrapping every fetched response in a fresh Response (mutable headers, same status and body stream) is the
// smallest change that lets streaming work; it leaves the gateway's own code untouched.
const upstreamFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const response = await upstreamFetch(...args);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: new Headers(response.headers) });
};
