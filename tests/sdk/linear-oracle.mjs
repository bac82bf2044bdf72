// Linear's own @linear/sdk (verify only): LinearWebhookClient.verify(rawBody, signature), which
// checks `linear-signature` (hex HMAC-SHA256 of the body) and the body's webhookTimestamp (ms) to
// 60 s either way. `verify`: secret in LINEAR_WEBHOOK_SECRET, headers as JSON pairs in
// SDK_HEADERS, body on stdin; exits 0 when the SDK accepts.
import { LinearWebhookClient } from "@linear/sdk/webhooks";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const headers = JSON.parse(process.env.SDK_HEADERS);
const signature = headers.find(([k]) => k.toLowerCase() === "linear-signature")?.[1] ?? "";
try {
  new LinearWebhookClient(process.env.LINEAR_WEBHOOK_SECRET).verify(Buffer.concat(chunks), signature);
  process.exit(0);
} catch (e) {
  process.stderr.write(`${e}\n`);
  process.exit(1);
}
