// A reader for the Prometheus text exposition format (version 0.0.4) as proxies serve it: comment and
// TYPE lines are skipped, each sample line gives a name, its labels and a value (`NaN`, `+Inf` and
// `-Inf` included); a trailing timestamp is ignored. Pure.
//
// Hand-written: the npm package made for this (parse-prometheus-text-format 1.1.1) drops the labels,
// `_sum` and `_count` of labelled histograms and merges their series, which is exactly what the
// embedded provider reads.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A line that is not a valid sample, with its 1-based line number. */
export class ExpositionError extends Error {
  override readonly name = "ExpositionError";
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string): number {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const v = Number(text);
  if (text.length === 0 || Number.isNaN(v)) throw new Error(`bad value "${text}"`);
  return v;
}

function parseLine(line: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new Error("no metric name");
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      while (line[i] === " " || line[i] === ",") i++;
      if (line[i] === "}") {
        i++;
        break;
      }
      const label = LABEL_NAME.exec(line.slice(i))?.[0];
      if (label === undefined) throw new Error(`bad label name at column ${i + 1}`);
      i += label.length;
      while (line[i] === " ") i++;
      if (line[i] !== "=" || line[i + 1] !== '"') throw new Error(`expected ="…" after ${label}`);
      i += 2;
      let value = "";
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error(`unterminated value of ${label}`);
        i++;
        if (c === '"') break;
        if (c === "\\") {
          const e = line[i++];
          value += e === "n" ? "\n" : e === undefined ? "" : e;
        } else value += c;
      }
      labels[label] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === "") throw new Error("expected a value");
  return { name, labels, value: parseValue(rest[0]) };
}

/** Every sample of an exposition, in order; ExpositionError on the first malformed line. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === "" || line.startsWith("#")) continue;
    try {
      samples.push(parseLine(line));
    } catch (e) {
      throw new ExpositionError(`line ${n + 1}: ${(e as Error).message}: ${line.slice(0, 120)}`);
    }
  }
  return samples;
}

/** A key that identifies a series: its name and sorted labels. */
export function seriesKey(s: { name: string; labels: Record<string, string> }): string {
  const labels = Object.keys(s.labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(s.labels[k])}`)
    .join(",");
  return `${s.name}{${labels}}`;
}
