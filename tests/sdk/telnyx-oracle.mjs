// Telnyx's own telnyx SDK (verify only): client.webhooks.unwrap(body, {headers}), which checks the
// Ed25519 signature over "{telnyx-timestamp}|{body}" and the timestamp to 300 s either way.
// `verify`: public key (base64) in TELNYX_PUBLIC_KEY, headers as JSON pairs in SDK_HEADERS, body
// on stdin; exits 0 when the SDK accepts.
import Telnyx from "telnyx";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const body = Buffer.concat(chunks).toString("utf8");
const headers = Object.fromEntries(JSON.parse(process.env.SDK_HEADERS));
const client = new Telnyx({ apiKey: "unused", publicKey: process.env.TELNYX_PUBLIC_KEY });
try {
  await client.webhooks.unwrap(body, { headers });
  process.exit(0);
} catch (e) {
  process.stderr.write(`${e}\n`);
  process.exit(1);
}
