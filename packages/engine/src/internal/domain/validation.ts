/**
 * Validation errors in the shape of upstream's go-playground validator (`pkg/validator`):
 * "Validation failed with the following errors:\n0: validation failed on field 'X.Y': …\n".
 *
 * @internal
 */
import { durationError } from "./duration.js"

export const hatchetNamePattern = /^[a-zA-Z0-9.\-_]+$/
export const hatchetNameError = "Hatchet names must match the regex ^[a-zA-Z0-9\\.\\-_]+$"
export const actionIdError = "Invalid action ID. Action IDs must be in the format <integrationId>:<verb>"
export const cronError = "Invalid cron expression"
export { durationError }

/** How Go's `SafeExternalError` prints the actual value: only `int`, `string` and slices of them. */
export type ActualValue =
  | { readonly _tag: "int"; readonly value: number }
  | { readonly _tag: "string"; readonly value: string }
  | { readonly _tag: "other" }

const renderActual = (actual: ActualValue): string =>
  actual._tag === "int" ? `${actual.value}` : actual._tag === "string" ? `'${actual.value}'` : "invalid type"

/** Collects field errors in struct-field order, as the validator reports them. */
export class FieldErrors {
  readonly errors: Array<string> = []

  /** A failed condition with a known message (`hatchetName`, `duration`, `actionId`, `cron`). */
  message(namespace: string, message: string): this {
    this.errors.push(`validation failed on field '${namespace}': ${message}`)
    return this
  }

  /** A failed generic condition (`required`, `min`, `max`, `oneof`, `gt`). */
  condition(namespace: string, condition: string, param?: string, actual?: ActualValue): this {
    let text = `validation failed on field '${namespace}': on condition '${condition}'`
    if (param !== undefined && param !== "") text += ` [ ${param} ]: got ${renderActual(actual ?? { _tag: "other" })}`
    this.errors.push(text)
    return this
  }

  get isEmpty(): boolean {
    return this.errors.length === 0
  }

  /** `APIErrors.String()` (what `ValidateAPI` reports). */
  render(): string {
    return `Validation failed with the following errors:\n${this.errors.map((e, i) => `${i}: ${e}\n`).join("")}`
  }

  /**
   * What `Validate` reports: a 400 `DetailedError` over a go-multierror list,
   * "error 400: 1 error occurred:\n\t* …\n\n".
   */
  renderDetailed(): string {
    const list = this.errors.length === 1
      ? `1 error occurred:\n\t* ${this.errors[0]}\n\n`
      : `${this.errors.length} errors occurred:\n\t${this.errors.map((e) => `* ${e}`).join("\n\t")}\n\n`
    return `error 400: ${list}`
  }
}

/** The priority rule of triggers and events (1..3): upstream's message, or undefined. */
export const priorityProblem = (priority: number | undefined): string | undefined =>
  priority !== undefined && (priority < 1 || priority > 3) ? `priority must be between 1 and 3, got ${priority}` : undefined
