// Sanity's own @sanity/webhook toolkit. `sign MILLIS`: prints the sanity-webhook-signature value
// encodeSignatureHeader gives for stdin. `verify`: exits 0 when isValidSignature accepts the
// header in SDK_SIGNATURE for stdin. The secret is in SANITY_SECRET.
import { encodeSignatureHeader, isValidSignature } from "@sanity/webhook";

const secret = process.env.SANITY_SECRET;
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const body = Buffer.concat(chunks).toString("utf8");
if (process.argv[2] === "sign") {
  process.stdout.write(await encodeSignatureHeader(body, Number(process.argv[3]), secret));
} else {
  process.exit((await isValidSignature(body, process.env.SDK_SIGNATURE, secret)) ? 0 : 1);
}
