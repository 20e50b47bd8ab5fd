// The `meshlane` command line: one module per verb, registered here.
import { verbs, usage } from "./verbs.js";

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === "help" || verb === "--help" || verb === "-h") {
    const topic = verb === "help" ? rest[0] : undefined;
    process.stdout.write(topic && verbs[topic] ? verbs[topic].help : usage());
    return verb === undefined ? 2 : 0;
  }
  if (verb === "--version") {
    process.stdout.write("meshlane 0.1.0\n");
    return 0;
  }
  const entry = verbs[verb];
  if (!entry) {
    process.stderr.write(`meshlane: unknown verb "${verb}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(entry.help);
    return 0;
  }
  return entry.run(rest);
}
