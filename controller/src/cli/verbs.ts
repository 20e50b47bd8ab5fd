// The verb table. Each verb module exports `help` (its full usage text) and `run(args) -> exit code`.
import * as controller from "./controller.js";
import * as demo from "./demo.js";
import * as explain from "./explain.js";
import * as render from "./render.js";
import * as rollout from "./rollout.js";
import * as validate from "./validate.js";
import { CONTRACTS, EXIT_STATUS } from "./help.js";

export interface Verb {
  summary: string;
  help: string;
  run(args: string[]): Promise<number>;
}

export const verbs: Record<string, Verb> = {
  controller,
  demo,
  explain,
  validate,
  render,
  rollout,
};

export function usage(): string {
  const width = Math.max(...Object.keys(verbs).map((v) => v.length));
  const lines = Object.entries(verbs).map(([name, v]) => `  ${name.padEnd(width)}  ${v.summary}`);
  return [
    "meshlane: end-to-end traffic lanes for Istio",
    "",
    "Usage: meshlane <verb> [options]",
    "       meshlane --version | -v",
    "",
    "Verbs:",
    ...lines,
    "",
    "Run `meshlane <verb> --help` for a verb's options.",
    "",
    EXIT_STATUS.trimEnd(),
    "",
    `The contracts (plugin config, explain formats, the Lane resource, labels, annotations, metrics) are`,
    `written down in ${CONTRACTS}.`,
    "",
  ].join("\n");
}
