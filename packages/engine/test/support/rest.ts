/**
 * One REST call to an engine, as a test makes it: the engine's own token unless another
 * authorization is given, a JSON body (sent verbatim when it is a string), and the answer's status
 * with its body (JSON when the answer says so, the text otherwise, undefined when empty).
 */
import { Effect, Redacted } from "effect"
import type { EngineService } from "../../src/Engine.js"

/** A well-formed UUID that names nothing in any tenant (for 404s). */
export const unknownId = "2f2f2f2f-5555-4555-8555-555555555555"

/** A tenant other than the engine's own (for another tenant's token or resources: 403s). */
export const otherTenant = "6a6a6a6a-7777-4777-8777-777777777777"

export const restCall = (
  engine: EngineService,
  method: string,
  path: string,
  body?: unknown,
  authorization = `Bearer ${Redacted.value(engine.token)}`
) =>
  Effect.promise(async () => {
    const response = await fetch(`${engine.apiUrl}${path}`, {
      method,
      headers: {
        authorization,
        ...(body !== undefined ? { "content-type": "application/json" } : {})
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {})
    })
    const text = await response.text()
    const json = (response.headers.get("content-type") ?? "").includes("json")
    return { status: response.status, body: (text === "" ? undefined : json ? JSON.parse(text) : text) as any }
  })
