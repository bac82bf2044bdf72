// Reference peer (Node 20, AWS SDK for JavaScript v3): the webhook receiver a careful user would
// hand-write to do what Inlet's `github` and `standard` functions do, for the benchmark to compare
// against. Not part of the product; see ../README.md for what it leaves out.
//
// Verifies the sender's HMAC-SHA256 signature, wraps the body in a CloudEvents 1.0 envelope,
// claim-checks bodies too large for SQS to S3, and sends the envelope to SQS.
// Never logs the secret, a signature or the body.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { S3Client, PutObjectCommand } from "@aws-sdk/client-s3";
import { SecretsManagerClient, GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";

const SOURCE = process.env.INLET_SOURCE; // "github" or "standard"
const QUEUE_URL = process.env.QUEUE_URL;
const BUCKET = process.env.PAYLOAD_BUCKET;
const MAX_MESSAGE_BYTES = 262_144; // SQS's limit: the body plus each attribute's name, type and value
const TOLERANCE_SECONDS = 300;
const PROBLEM = "urn:inlet:problem:";

if (SOURCE !== "github" && SOURCE !== "standard") {
  throw new Error(`INLET_SOURCE must be github or standard, not ${JSON.stringify(SOURCE)}`);
}

// Init, once per execution environment. The SDK reads AWS_ENDPOINT_URL, AWS_REGION and the
// credentials from the environment itself (Node reads NODE_EXTRA_CA_CERTS at start).
const sqs = new SQSClient({});
const s3 = new S3Client({ forcePathStyle: true });
const secretsManager = new SecretsManagerClient({});

/** The active signing keys, newest first: the SecretString itself, or {"secrets": [...]}. */
async function loadKeys() {
  const { SecretString: value } = await secretsManager.send(
    new GetSecretValueCommand({ SecretId: process.env.WEBHOOK_SECRET_ARN }),
  );
  let secrets = [value];
  if (value.trimStart().startsWith("{")) {
    try {
      const listed = JSON.parse(value).secrets;
      if (Array.isArray(listed) && listed.length && listed.every((s) => typeof s === "string")) {
        secrets = listed;
      }
    } catch {
      // not JSON: the value is the secret itself
    }
  }
  if (SOURCE === "standard") {
    // the key is the base64 after "whsec_"
    return secrets.map((s) => Buffer.from(s.startsWith("whsec_") ? s.slice(6) : s, "base64"));
  }
  return secrets.map((s) => Buffer.from(s, "utf8"));
}

const KEYS = await loadKeys();

class Rejected extends Error {
  constructor(status, slug, title) {
    super(slug);
    Object.assign(this, { status, slug, title });
  }
}

const notVerified = () => new Rejected(401, "invalid-signature", "Unauthorized");
const badRequest = (slug) => new Rejected(400, slug, "Bad Request");

/** 2026-11-23T07:24:34.621Z */
const rfc3339 = (ms) => new Date(ms).toISOString();

const hmacSha256 = (key, data) => createHmac("sha256", key).update(data).digest();

const sameBytes = (a, b) => a.length === b.length && timingSafeEqual(a, b);

/** The index of the key whose HMAC matches `x-hub-signature-256`. */
function verifyGithub(headers, body) {
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(headers["x-hub-signature-256"] ?? "");
  if (!match) throw notVerified();
  const given = Buffer.from(match[1], "hex");
  const index = KEYS.findIndex((key) => sameBytes(hmacSha256(key, body), given));
  if (index < 0) throw notVerified();
  return index;
}

/** The index of the matching key and the signed timestamp (Standard Webhooks). */
function verifyStandard(headers, body) {
  const id = headers["webhook-id"] ?? "";
  const timestamp = headers["webhook-timestamp"] ?? "";
  const signatures = headers["webhook-signature"] ?? "";
  if (!id || !signatures || !/^[0-9]+$/.test(timestamp)) throw notVerified();
  const candidates = signatures
    .split(" ")
    .filter((entry) => /^v1,[A-Za-z0-9+/]+={0,2}$/.test(entry))
    .map((entry) => Buffer.from(entry.slice(3), "base64"));
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]);
  const index = KEYS.findIndex((key) => {
    const expected = hmacSha256(key, signed);
    return candidates.some((c) => sameBytes(expected, c));
  });
  if (index < 0) throw notVerified();
  // Checked only once the signature matched: a stale but genuine request gets 400.
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) {
    throw badRequest("timestamp-out-of-tolerance");
  }
  return [index, Number(timestamp)];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function buildEnvelope(headers, body, received) {
  let secretIndex, signedAt, verification;
  if (SOURCE === "github") {
    secretIndex = verifyGithub(headers, body);
    verification = "github-hmac-sha256";
  } else {
    [secretIndex, signedAt] = verifyStandard(headers, body);
    verification = "standard-hmac-sha256";
  }
  let data;
  try {
    data = JSON.parse(utf8.decode(body));
  } catch {
    throw badRequest("invalid-json"); // also bodies that are not UTF-8
  }
  const fields = data !== null && typeof data === "object" && !Array.isArray(data) ? data : {};

  let id, type, subject, time;
  if (SOURCE === "github") {
    id = headers["x-github-delivery"];
    const event = headers["x-github-event"];
    if (!id || !event) throw badRequest("missing-header");
    type = `github.${event}`;
    if (typeof fields.action === "string" && fields.action) type += `.${fields.action}`;
    if (typeof fields.repository?.full_name === "string") subject = fields.repository.full_name;
    time = received;
  } else {
    id = headers["webhook-id"];
    if (typeof fields.type !== "string" || !fields.type) throw badRequest("missing-field");
    type = `standard.${fields.type}`;
    time = signedAt * 1000;
  }

  return {
    specversion: "1.0",
    id,
    source: SOURCE,
    type,
    time: rfc3339(time),
    ...(subject !== undefined && { subject }),
    datacontenttype: "application/json",
    data,
    inletreceivedat: rfc3339(received),
    inletbodysha256: createHash("sha256").update(body).digest("hex"),
    inletverification: verification,
    inletsecret: `secretsmanager[${secretIndex}]`,
  };
}

function messageSize(message, type) {
  const attributes = "source".length + "String".length + Buffer.byteLength(SOURCE) +
    "type".length + "String".length + Buffer.byteLength(type);
  return Buffer.byteLength(message) + attributes;
}

/** Stores the raw body in the payload bucket; the envelope with `dataref` in place of `data`. */
async function claimCheck(envelope, headers, body) {
  const contentType = headers["content-type"] || "application/json";
  const key = `payloads/${SOURCE}/${envelope.id}/${envelope.inletbodysha256}`;
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: contentType }));
  const checked = {};
  for (const [name, value] of Object.entries(envelope)) {
    if (name === "datacontenttype") checked[name] = contentType; // it now describes the stored body
    else if (name === "data") checked.dataref = `s3://${BUCKET}/${key}`;
    else checked[name] = value;
  }
  return checked;
}

const reply = (statusCode, body, contentType = "application/json") => ({
  statusCode,
  headers: { "content-type": contentType },
  body: JSON.stringify(body),
});

function problem({ status, slug, title }) {
  console.log(JSON.stringify({ level: "WARN", message: "rejected", status, problem: slug }));
  return reply(status, { type: PROBLEM + slug, title, status }, "application/problem+json");
}

export const handler = async (event) => {
  const received = Date.now();
  if ((event.requestContext?.http?.method ?? "POST") !== "POST") {
    const rejected = problem(new Rejected(405, "method-not-allowed", "Method Not Allowed"));
    rejected.headers.allow = "POST";
    return rejected;
  }
  const headers = Object.fromEntries(
    Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const body = Buffer.from(event.body ?? "", event.isBase64Encoded ? "base64" : "utf8");
  let envelope, message;
  try {
    envelope = buildEnvelope(headers, body, received);
    message = JSON.stringify(envelope);
  } catch (e) {
    if (e instanceof Rejected) return problem(e);
    // JSON nested deeper than the call stack allows, to parse or to write
    if (e instanceof RangeError) return problem(badRequest("json-too-deep"));
    throw e;
  }
  if (messageSize(message, envelope.type) > MAX_MESSAGE_BYTES) {
    if (!BUCKET) return problem(new Rejected(413, "payload-too-large", "Payload Too Large"));
    envelope = await claimCheck(envelope, headers, body);
    message = JSON.stringify(envelope);
  }

  const sent = await sqs.send(new SendMessageCommand({
    QueueUrl: QUEUE_URL,
    MessageBody: message,
    MessageAttributes: {
      source: { DataType: "String", StringValue: SOURCE },
      type: { DataType: "String", StringValue: envelope.type },
    },
  }));
  // One line per delivery, as Inlet writes (ids and type only: never the body or a signature).
  console.log(JSON.stringify({
    level: "INFO", message: "accepted", source: SOURCE, id: envelope.id, type: envelope.type,
    message_id: sent.MessageId,
  }));
  return reply(202, { id: envelope.id, type: envelope.type, messageId: sent.MessageId });
};
