// Signs many bodies in one process with GitHub's own @octokit/webhooks-methods, for the soak
// test (one `node github-sign.mjs` per delivery costs ~0.1 s; thousands would take minutes).
//
// stdin: one JSON value per line, either a string (the body, signed with $GITHUB_SECRET) or
// {"secret": "...", "body": "..."}. stdout: the X-Hub-Signature-256 value for each line, in order,
// one per line. Octokit signs strings (UTF-8), as GitHub's own SDK does.
import { createInterface } from "node:readline";
import { sign } from "@octokit/webhooks-methods";

const fallback = process.env.GITHUB_SECRET;
const out = [];
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line === "") continue;
  const item = JSON.parse(line);
  const { secret, body } = typeof item === "string" ? { secret: fallback, body: item } : item;
  if (!secret) throw new Error("no secret: set GITHUB_SECRET or give {secret, body}");
  out.push(await sign(secret, body));
  if (out.length >= 1000) {
    process.stdout.write(out.join("\n") + "\n");
    out.length = 0;
  }
}
if (out.length) process.stdout.write(out.join("\n") + "\n");
