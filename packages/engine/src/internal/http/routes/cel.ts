/**
 * `POST /api/v1/stable/tenants/{tenant}/cel/debug` (`V1CELDebugRequest` → `V1CELDebugResponse`,
 * upstream `handlers/v1/cel/debug.go`): evaluates an expression as an event filter
 * (`EvaluateEventExpression`: the event environment, with `input`, `additional_metadata` and the
 * filter's `payload`) and answers SUCCESS with the boolean, or ERROR with cel-go's message
 * ("failed to compile expression: …", "failed to evaluate expression: …", "expression did not
 * evaluate to a boolean: got string"). As upstream, the body is not validated: a missing
 * expression is the empty one (an ERROR answer); a body of the wrong shape is echo's 400.
 *
 * @internal
 */
import * as Cel from "@effect-hatchet/shared/Cel"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Go } from "../../domain/goJson.js"
import type { JsonObject } from "../../domain/json.js"
import { decodeBody, json, JsonObject as JsonObjectSchema, nullable, tenantRoute } from "../rest.js"

/** `V1CELDebugRequest`. */
const DebugRequest = Schema.Struct({
  expression: nullable(Schema.String),
  input: nullable(JsonObjectSchema),
  filterPayload: nullable(JsonObjectSchema),
  additionalMetadata: nullable(JsonObjectSchema)
})

/** The outcome of an event-filter expression, as `EvaluateEventExpression` reports it. */
export const debugEventExpression = (
  expression: string,
  input: JsonObject,
  additionalMetadata: JsonObject,
  payload: JsonObject
): { readonly status: "SUCCESS"; readonly output: boolean } | { readonly status: "ERROR"; readonly error: string } => {
  const compiled = Cel.compile("event", expression)
  if (compiled._tag === "Invalid") return { status: "ERROR", error: `failed to compile expression: ${compiled.message}` }
  // upstream's input carries only these three; the event's id and key are unbound here
  const result = Cel.evaluate(compiled.program, {
    input,
    additional_metadata: additionalMetadata,
    payload
  } as Cel.CelBindings<"event">)
  if (result._tag === "Error") return { status: "ERROR", error: `failed to evaluate expression: ${result.message}` }
  if (typeof result.value !== "boolean") {
    return { status: "ERROR", error: `expression did not evaluate to a boolean: got ${Cel.typeName(result.value)}` }
  }
  return { status: "SUCCESS", output: result.value }
}

export const routes = HttpRouter.empty.pipe(
  HttpRouter.post(
    "/api/v1/stable/tenants/:tenant/cel/debug",
    tenantRoute(() =>
      Effect.gen(function*() {
        const body = yield* decodeBody(
          DebugRequest,
          Go.struct("gen.V1CELDebugRequest", {
            additionalMetadata: [Go.map(Go.any), "pointer"],
            expression: Go.string,
            filterPayload: [Go.map(Go.any), "pointer"],
            input: Go.map(Go.any)
          })
        )
        return json(debugEventExpression(
          body.expression ?? "",
          (body.input ?? {}) as JsonObject,
          (body.additionalMetadata ?? {}) as JsonObject,
          (body.filterPayload ?? {}) as JsonObject
        ))
      })
    )
  )
)
