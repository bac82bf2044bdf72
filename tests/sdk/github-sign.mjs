// Signs stdin with GitHub's own @octokit/webhooks-methods: prints the X-Hub-Signature-256 value.
// With --verify SIG, exits 0 when the SDK accepts SIG for stdin.
import { sign, verify } from "@octokit/webhooks-methods";

const secret = process.env.GITHUB_SECRET;
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const body = Buffer.concat(chunks).toString("utf8");
const i = process.argv.indexOf("--verify");
if (i >= 0) {
  process.exit((await verify(secret, body, process.argv[i + 1])) ? 0 : 1);
} else {
  process.stdout.write(await sign(secret, body));
}
