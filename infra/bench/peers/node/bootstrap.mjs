// A minimal Lambda Runtime API client: a stand-in for AWS's managed Node.js runtime, so the
// reference peer runs under the benchmark's local Runtime API the way it would run on Lambda.
// Not a copy of AWS's runtime (aws-lambda-nodejs-runtime-interface-client): it does only what the
// peer needs.
//
// Imports the handler module (index.mjs) once, which runs its init (clients, the secret, with
// top-level await); then loops: GET the next invocation, await the handler, POST its return
// value as the response, or POST an error when it throws. If import/init fails it POSTs
// /runtime/init/error and exits 1. One kept-alive HTTP/1.1 connection, Node's `http` module only.

import http from "node:http";

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const BASE = "/2018-06-01/runtime";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** {status, headers, body} of one call to the Runtime API. */
function call(method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, method, path: BASE + path, agent, headers },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function postError(path, error, errorType) {
  console.error(error);
  const body = JSON.stringify({
    errorMessage: String(error?.message ?? error),
    errorType: error?.name ?? "Error",
    stackTrace: String(error?.stack ?? "").split("\n").slice(1).map((l) => l.trim()),
  });
  return call("POST", path, body, {
    "content-type": "application/json",
    "lambda-runtime-function-error-type": errorType,
  });
}

function context(headers) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"] ?? 0);
  return {
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"] ?? "",
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? "",
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? "$LATEST",
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? "",
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? "",
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? "",
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
}

let handler;
try {
  ({ handler } = await import(new URL("./index.mjs", import.meta.url)));
  if (typeof handler !== "function") throw new TypeError("index.mjs exports no function `handler`");
} catch (e) {
  await postError("/init/error", e, "Runtime.ImportModuleError");
  agent.destroy();
  process.exit(1);
}
console.log(JSON.stringify({ level: "INFO", message: "started" }));

for (;;) {
  const next = await call("GET", "/invocation/next");
  if (next.status !== 200) {
    console.error(`the Runtime API answered ${next.status} to /invocation/next`);
    agent.destroy();
    process.exit(1);
  }
  const requestId = next.headers["lambda-runtime-aws-request-id"];
  if (next.headers["lambda-runtime-trace-id"]) {
    process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"];
  }
  let answer;
  try {
    answer = JSON.stringify(await handler(JSON.parse(next.body), context(next.headers)));
  } catch (e) {
    await postError(`/invocation/${requestId}/error`, e, "Runtime.Unhandled");
    continue;
  }
  await call("POST", `/invocation/${requestId}/response`, answer, { "content-type": "application/json" });
}
