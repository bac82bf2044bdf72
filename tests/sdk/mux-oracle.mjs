// Mux's own @mux/mux-node SDK (verify only): mux.webhooks.unwrap(body, headers), which checks
// `mux-signature: t=…,v1=…` (hex HMAC-SHA256 of "{t}.{body}") and refuses a t older than 300 s.
// `verify`: secret in MUX_WEBHOOK_SECRET, headers as JSON pairs in SDK_HEADERS, body on stdin;
// exits 0 when the SDK accepts.
import Mux from "@mux/mux-node";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const body = Buffer.concat(chunks).toString("utf8");
const headers = Object.fromEntries(JSON.parse(process.env.SDK_HEADERS));
const mux = new Mux({ webhookSecret: process.env.MUX_WEBHOOK_SECRET });
try {
  await mux.webhooks.unwrap(body, headers);
  process.exit(0);
} catch (e) {
  process.stderr.write(`${e}\n`);
  process.exit(1);
}
