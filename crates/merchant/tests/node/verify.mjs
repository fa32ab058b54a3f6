// Reads {secret, headers, body} as JSON on stdin and verifies the delivery with the official
// library; prints the payload it parsed, or exits 1 with the library's error.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { secret, headers, body } = JSON.parse(input);
try {
  const payload = new Webhook(secret.replace(/^whsec_/, "")).verify(body, headers);
  process.stdout.write(JSON.stringify(payload));
} catch (error) {
  process.stderr.write(`verification failed: ${error.message}\n`);
  process.exit(1);
}
