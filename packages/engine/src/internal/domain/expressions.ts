/**
 * What a task's step expressions (concurrency keys, rate-limit keys, units, limits and windows)
 * are evaluated with, in the `workflow` CEL environment.
 *
 * @internal
 */
import type { CelBindings } from "@effect-hatchet/shared/Cel"
import { isJsonObject } from "./json.js"
import type { Run } from "./model.js"

/**
 * The run's input and additional metadata, and the task's own external id as `workflow_run_id`,
 * as upstream passes it.
 */
export const stepVariables = (run: Run, taskExternalId: string): CelBindings<"workflow"> => ({
  input: isJsonObject(run.input) ? run.input : {},
  additional_metadata: run.metadata,
  workflow_run_id: taskExternalId
})
