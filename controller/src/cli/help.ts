// Text the verbs' help shares: the exit status every verb follows and where the contracts are written
// down. The contracts live in docs/contracts.md, shipped with the package (package.json "files").

/** Exit codes. 1 has one meaning in every verb: it ran, and what it ran or checked failed. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;

/** The contracts document, relative to the package root (the repository or the installed package). */
export const CONTRACTS = "docs/contracts.md";

/** A pointer into the contracts document for help text: `docs/contracts.md, "<section>"`. */
export function contractsRef(section: string): string {
  return `${CONTRACTS}, "${section}"`;
}

export const EXIT_STATUS = `Exit status (every verb):
  0  done
  1  the verb ran and what it ran or checked failed: explain, the filter trapped; render, an object
     has an error (everything valid is still printed); demo, a request failed or the mesh did not
     start; controller, it could not start; rollout, the Lane or its rollout is missing, a
     command was refused, the API server refused or could not be reached, or status --watch ended
     at RolledBack or Aborted
  2  usage: a bad option, a missing or unreadable file, malformed input, a plugin config the filter
     rejects, or no cluster configured; one line on stderr says what and where
  3  meshlane could not finish: its output could not be written, or an unexpected error (a bug:
     please report the message)
`;
