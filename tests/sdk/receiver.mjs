// A webhook receiver that checks Standard Webhooks signatures with the npm `standardwebhooks` and
// `svix` packages, called as their READMEs show: `new Webhook(secret).verify(body, headers)`.
//
// Listens on 127.0.0.1 (a free port) and prints `{"port": N}` as its first stdout line. Secrets
// (`whsec_…`, space-separated, current first) come from RECEIVER_SECRETS or `--secret S` flags;
// each SDK tries them in order and the index of the first that verifies is its verdict's `key`.
// Every request but `GET /_results` is recorded and answered 204; `GET /_results` returns the
// records as JSON: [{at, method, path, headers: [[name, value]...], body_base64,
//                    verdicts: {standardwebhooks: {ok, key?, error?}, svix: {...}}}].
// Driven from Python by receivers.NodeReceiver.
import http from "node:http";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";

const secrets = (process.env.RECEIVER_SECRETS ?? "").split(/\s+/).filter(Boolean);
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === "--secret" && process.argv[i + 1]) secrets.push(process.argv[++i]);
}

const SDKS = { standardwebhooks: StandardWebhook, svix: SvixWebhook };

function verdict(Sdk, body, headers) {
  let error = "no secret configured";
  for (const [i, secret] of secrets.entries()) {
    try {
      new Sdk(secret).verify(body, headers);
      return { ok: true, key: i };
    } catch (e) {
      error = `${e?.name ?? "Error"}: ${e?.message ?? e}`;
    }
  }
  return { ok: false, error };
}

const records = [];

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (req.method === "GET" && req.url === "/_results") {
      const out = JSON.stringify(records);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
      res.end(out);
      return;
    }
    const body = Buffer.concat(chunks);
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    const verdicts = {};
    for (const [name, Sdk] of Object.entries(SDKS)) verdicts[name] = verdict(Sdk, body, req.headers);
    records.push({
      at: Date.now(),
      method: req.method,
      path: req.url,
      headers,
      body_base64: body.toString("base64"),
      verdicts,
    });
    res.writeHead(204);
    res.end();
  });
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
