// Shopify's own @shopify/shopify-api. `sign`: prints the X-Shopify-Hmac-Sha256 value the SDK's
// test helper getHmac gives for stdin. `verify`: exits 0 when shopify.webhooks.validate (HMAC,
// then the topic, shop domain, API version and webhook id headers it requires) finds the request
// with the headers in SDK_HEADERS (JSON pairs) and stdin valid. The secret is in SHOPIFY_SECRET.
import "@shopify/shopify-api/adapters/node";
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { ApiVersion, LogSeverity, shopifyApi } from "@shopify/shopify-api";
import { getHmac } from "@shopify/shopify-api/test-helpers";

const secret = process.env.SHOPIFY_SECRET;
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const body = Buffer.concat(chunks).toString("utf8");
if (process.argv[2] === "sign") {
  process.stdout.write(getHmac(body, secret));
} else {
  const shopify = shopifyApi({
    apiKey: "inlet-test", apiSecretKey: secret, hostName: "inlet.example.com", apiVersion: ApiVersion.July25,
    isEmbeddedApp: false, logger: { level: LogSeverity.Error },
  });
  const rawRequest = new IncomingMessage(new Socket());
  rawRequest.method = "POST";
  rawRequest.url = "/webhooks/shopify";
  rawRequest.headers = Object.fromEntries(JSON.parse(process.env.SDK_HEADERS).map(([k, v]) => [k.toLowerCase(), v]));
  const rawResponse = new ServerResponse(rawRequest);
  const result = await shopify.webhooks.validate({ rawBody: body, rawRequest, rawResponse });
  if (!result.valid) process.stderr.write(`${JSON.stringify(result)}\n`);
  process.exit(result.valid ? 0 : 1);
}
