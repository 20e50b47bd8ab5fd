// Which `meshlane rollout <command>` makes sense in which state of a rollout, and what it will do, in
// words. Pure: it reads a Lane's parsed `spec.rollout` and its `status.rollout` and decides nothing else.
//
// The contract follows the step engine (rollout/engine.ts), which is what acts on the command once the
// controller passes it on: a command the engine would ignore in the rollout's phase is refused here
// with a sentence, so a user never writes a command that silently does nothing.
import type { Command, RolloutSpec, RolloutStatus } from "../rollout/engine.js";

/** The annotation the CLI writes and the controller consumes (once) and removes. */
export const ROLLOUT_COMMAND_ANNOTATION = "meshlane.io/rollout-command";

export const COMMANDS: readonly Command[] = ["pause", "resume", "promote", "abort", "retry"];

export function isCommand(s: string): s is Command {
  return (COMMANDS as readonly string[]).includes(s);
}

/** "step 2/4 (10%)" for the status's step. */
export function stepLabel(spec: RolloutSpec, step: number): string {
  const i = Math.min(Math.max(step, 0), spec.steps.length - 1);
  return `step ${i + 1}/${spec.steps.length} (${spec.steps[i].percent}%)`;
}

function promotionWords(spec: RolloutSpec): string {
  return spec.promotion === "copy"
    ? "then promote: copy the lane's pod templates into base, after which the share returns to 0%"
    : "then end Succeeded at that share (promotion is manual: you update base, then delete the Lane)";
}

export type Decision = { ok: true; effect: string } | { ok: false; reason: string };

/**
 * Whether `command` makes sense for a rollout in `status` (undefined: the controller has not started
 * it), and what it will do. `pending` is a command already written and not yet taken by the controller.
 */
export function decide(
  command: Command,
  spec: RolloutSpec,
  status: RolloutStatus | undefined,
  pending?: string,
): Decision {
  if (pending !== undefined && pending !== "" && pending !== command && command !== "abort") {
    return {
      ok: false,
      reason:
        `the command "${pending}" given earlier has not been taken by the controller yet; ` +
        `run this one once it is (only abort replaces a waiting command)`,
    };
  }
  const phase = status?.phase ?? "Pending";
  const last = spec.steps.length - 1;
  const step = status?.step ?? 0;
  const copying = status?.promotion?.state === "Copying";

  if (phase === "Pending") {
    if (command === "abort")
      return { ok: true, effect: "abort the rollout before it starts (nothing is routed)" };
    return {
      ok: false,
      reason: `the rollout has not started yet (phase Pending): the controller starts it at its next pass`,
    };
  }
  if (phase === "Succeeded") {
    const why =
      command === "retry"
        ? "retry restarts a rolled-back or aborted rollout"
        : spec.promotion === "copy"
          ? "base already runs the lane's pod templates"
          : "to take the share away, delete the Lane or remove spec.rollout";
    return { ok: false, reason: `the rollout is over (phase Succeeded): ${why}` };
  }
  if (phase === "RolledBack" || phase === "Aborted") {
    if (command === "retry") return { ok: true, effect: `start again from ${stepLabel(spec, 0)}` };
    return {
      ok: false,
      reason: `the rollout is over (phase ${phase}, share 0%): \`retry\` starts it again from step 1`,
    };
  }
  // Progressing or Paused.
  if (copying) {
    if (command === "abort")
      return { ok: true, effect: "stop the promotion and roll back: share 0% at once" };
    return {
      ok: false,
      reason:
        "the rollout is being promoted (copying the lane's pod templates into base); only abort stops it",
    };
  }
  switch (command) {
    case "abort":
      return {
        ok: true,
        effect: `roll back now from ${stepLabel(spec, step)}: share 0% at once, phase Aborted`,
      };
    case "promote":
      return {
        ok: true,
        effect: `skip to the last step, ${stepLabel(spec, last)}, ${promotionWords(spec)}`,
      };
    case "retry":
      return {
        ok: false,
        reason: `retry restarts a rolled-back or aborted rollout; this one is ${phase} at ${stepLabel(spec, step)}`,
      };
    case "pause":
      if (phase === "Paused") {
        return {
          ok: false,
          reason:
            status?.pausedBy === "user"
              ? `the rollout is already paused (by request) at ${stepLabel(spec, step)}`
              : `the rollout is already waiting for resume at ${stepLabel(spec, step)} (a step without pause)`,
        };
      }
      return { ok: true, effect: `hold ${stepLabel(spec, step)} until resume (analysis keeps running)` };
    case "resume":
      if (phase !== "Paused") {
        return {
          ok: false,
          reason: `the rollout is not paused (phase ${phase} at ${stepLabel(spec, step)})`,
        };
      }
      if (status?.pausedBy === "user") {
        const pause = spec.steps[Math.min(step, last)]?.pause;
        return {
          ok: true,
          effect: `go on with ${stepLabel(spec, step)}${pause ? `; its pause of ${pause} counts again from now` : ""}`,
        };
      }
      if (step >= last) return { ok: true, effect: `finish the last step, ${promotionWords(spec)}` };
      return { ok: true, effect: `go on to ${stepLabel(spec, step + 1)}` };
  }
}
